"""``CpuModel.close()`` then ``predict`` (every call path), and ``close()`` while other threads
predict: a clear ``ModelClosedError``, never a use-after-free (issue 15: it segfaulted).

The scripts run in a child process so that a regression shows as a failed test (exit code,
signal), not as a crashed test run."""

from __future__ import annotations

from subproc import run_script


def test_predict_after_close_raises_on_every_path():
    out = run_script("""
        g = graph(name="hardening")
        m = cpu_backend.compile(g)
        x = np.random.default_rng(1).normal(size=(200, 16)).astype(np.float32)
        m.predict(x)
        m.close()
        m.close()  # twice is harmless
        calls = {
            "fast_gil": lambda: m.predict(x[:3]),           # batch <= GIL_FREE_BATCH, GIL held
            "fast_nogil": lambda: m.predict(x),             # large batch, GIL released
            "general": lambda: m.predict(x.astype(np.float64)),  # copies, pointer arrays
            "one_event": lambda: m.predict(x[0]),
            "call": lambda: m(x[:2]),
        }
        for name, call in calls.items():
            try:
                call()
            except ModelClosedError as e:
                assert "closed" in str(e) and "closing" in str(e), e
                assert isinstance(e, HlsforgeError)
            else:
                raise SystemExit(f"{name}: predict after close did not raise")
        # a model made by with_weights is independent of the closed one
        m2 = cpu_backend.compile(g)
        m3 = m2.with_weights(m2.weights_path)
        m2.close()
        np.testing.assert_allclose(m3.predict(x), reference.run(g, x), rtol=1e-5, atol=1e-4)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_close_while_other_threads_predict():
    out = run_script("""
        g = graph(name="hardening")
        x = np.random.default_rng(2).normal(size=(2000, 16)).astype(np.float32)
        want = reference.run(g, x)
        for trial in range(5):
            m = cpu_backend.compile(g)
            results = {"ok": 0, "closed": 0, "bad": []}
            start = threading.Barrier(5)
            def work(k):
                start.wait()
                for i in range(200):
                    sl = slice(0, 2000 if k % 2 else 1 + (i % 60))
                    xin = x[sl] if k < 3 else x[sl].astype(np.float64)
                    try:
                        y = m.predict(xin)
                    except ModelClosedError:
                        results["closed"] += 1
                        return
                    if not np.allclose(y, want[sl], rtol=1e-5, atol=1e-4):
                        results["bad"].append(k)
                        return
                    results["ok"] += 1
            ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for t in ts:
                t.start()
            start.wait()
            m.close()
            for t in ts:
                t.join()
            assert not results["bad"], results
            assert results["closed"] == 4, results
        print("ok")
    """)
    assert out.strip() == "ok"
