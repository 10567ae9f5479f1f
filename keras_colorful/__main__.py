"""`python -m keras_colorful ...`: the `keras-colorful` command line (`keras_colorful.cli`)."""

from keras_colorful import cli

if __name__ == "__main__":
    cli.console_main()
