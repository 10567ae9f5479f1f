"""`python -m keras_colorful.cli ...`, as `python -m keras_colorful ...`."""

from keras_colorful import cli

if __name__ == "__main__":
    cli.console_main()
