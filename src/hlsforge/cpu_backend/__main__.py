"""``python -m hlsforge.cpu_backend --cflags --libs``: BLAS flags for Make/CMake projects."""

from .blas import main

raise SystemExit(main())
