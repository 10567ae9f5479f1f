"""The serving clients' command line writes results safely: planned before anything is sent,
renamed into place, never over an input, over an existing output only when asked."""

import pytest

from export.serving import rest_client


def answer_with(payloads):
    """A `predict_each` that answers with `payloads` (the transport is tested against a local
    server in test_export_saved_model.py; here only the files matter)."""
    sent = []

    def predict_each(server, model, images, **options):
        sent.append(images)
        return payloads

    return predict_each, sent


def test_writes_each_result_and_names_failures(tmp_path, capsys):
    inputs = [tmp_path / "a.jpg", tmp_path / "b.png"]
    for path in inputs:
        path.write_bytes(b"photo " + path.name.encode())
    predict_each, sent = answer_with([b"colour a", rest_client.ImageError(1, "refused")])
    status = rest_client.client_main([*map(str, inputs), f"--output_dir={tmp_path / 'out'}"],
                                     "test", "http://unused", predict_each)
    assert status == 1
    assert sent == [[b"photo a.jpg", b"photo b.png"]]
    assert (tmp_path / "out" / "a_colorized.png").read_bytes() == b"colour a"
    assert not (tmp_path / "out" / "b_colorized.png").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_colorized.png"]
    assert "b.png: not colorized" in capsys.readouterr().err


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"photo")
    (tmp_path / "a_colorized.jpg").write_bytes(b"user's file")
    predict_each, sent = answer_with([b"new"])
    argv = [str(photo), f"--output_dir={tmp_path}", "--format=jpeg"]
    with pytest.raises(SystemExit) as raised:
        rest_client.client_main(argv, "test", "http://unused", predict_each)
    assert raised.value.code == 2 and sent == []
    assert (tmp_path / "a_colorized.jpg").read_bytes() == b"user's file"
    assert rest_client.client_main([*argv, "--overwrite"], "test", "x", predict_each) == 0
    assert (tmp_path / "a_colorized.jpg").read_bytes() == b"new"


def test_clashes_and_inputs_are_refused_before_sending(tmp_path):
    first, second = tmp_path / "x" / "a.jpg", tmp_path / "y" / "a.png"
    own = tmp_path / "c_colorized.png"
    with pytest.raises(FileExistsError, match="a.png would both be written"):
        rest_client.output_paths([str(first), str(second)], str(tmp_path), "png")
    with pytest.raises(FileExistsError, match="is an input image"):
        rest_client.output_paths([str(tmp_path / "c.jpg"), str(own)], str(tmp_path), "png",
                                 overwrite=True)
