"""Float reference rules of op families that live outside ``hlsforge.reference`` itself."""
