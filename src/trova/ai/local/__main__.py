"""`python -m trova.ai.local DIR_OR_FILE`: build the local model's ONNX file (for `make`)."""

from trova.ai.local.export import main

if __name__ == "__main__":
    raise SystemExit(main())
