"""The model card a panel shows for the bundled weights."""

from napari_genmed import api
from napari_genmed._qt.model_card import model_card


def test_bundled_card_names_its_stage_and_its_table():
    model = api.load_model("rec-cvae", device="cpu")
    text = model_card(model)
    recipe, table = model.card["recipe"], model.card["metrics"]["table"]
    # the section branches' second stage, from their first (itself on the TL-net-started CVAE)
    assert recipe["init_from"] == "runs/rec-cvae-adapted/model.safetensors"
    assert "last training stage" in text and "continued from an earlier training stage" in text
    assert "4000 heads of the phantom, harmonic and clinical families" in text
    assert "only the section reader and its branches trained, the rest frozen" in text
    assert "run's weights" not in text  # no run folder names a user never saw
    three = next(r for r in table if r["views"] == "3 views")
    assert f"3 views: DC {three['dice']:.3f}" in text
    kept = model.card["metrics"]["epoch"]  # the last epoch goes unsaid
    said = "" if kept == recipe["epochs"] else f" (kept: epoch {kept}, the best validation Dice)"
    assert f"{recipe['epochs']} epochs{said}, batch {recipe['batch_size']}" in text


def test_card_says_which_epoch_was_kept():
    from napari_genmed._qt.model_card import _kept

    assert _kept({"epochs": 10}, {"epoch": 8}) == " (kept: epoch 8, the best validation Dice)"
    assert _kept({"epochs": 10}, {"epoch": 10}) == ""  # the last epoch: nothing to say
    assert _kept({"stage_epochs": [0, 0, 20]}, {"epoch": 20}) == ""  # TL-net's stages
    # TL-net counts epochs within the stage it kept: its recipe's plain "epochs" is a default it
    # never ran
    assert _kept({"epochs": 10, "stage_epochs": [0, 0, 1]}, {"epoch": 1, "stage": "joint"}) == ""
    assert (
        _kept({"epochs": 10, "stage_epochs": [0, 0, 20]}, {"epoch": 17, "stage": "joint"})
        == " (kept: epoch 17, the best validation Dice)"
    )


def test_bundled_tl_net_card_names_its_stages():
    model = api.load_model("tl-net", device="cpu")
    text = model_card(model)
    stages = model.card["recipe"]["stage_epochs"]
    names = ("autoencoder", "image net", "joint")
    trained = [f"{e} epoch{'s' * (e != 1)} {n}" for e, n in zip(stages, names) if e]
    assert " + ".join(trained) in text and "0 + " not in text  # the stages it ran, by name
    assert (
        "continued from an earlier training stage" in text and "kept" not in text
    )  # stage 8: one joint epoch, the last


def test_card_names_where_a_stage_started():
    from napari_genmed._qt.model_card import _duration

    assert (
        _duration({"init_from": "tl-net", "seconds": 120})
        == " in 2 min, continued from the bundled tl-net weights"
    )
    for earlier in ("runs/hirec-cvae-warm/model.safetensors", "C:\\runs\\old.safetensors"):
        assert "continued from an earlier training stage (all stages: docs/model-card.md)" in (
            _duration({"init_from": earlier})
        )
    assert _duration({"seconds": 60}) == " in 1 min"


def test_load_message_uses_the_name_the_user_picked():
    """The patch flow's kind is "patch-glow"; the message says what the menu said."""
    from napari_genmed._qt.model_box import FROM_FILE, PATCH_FLOWS, loaded_name

    label = next(iter(PATCH_FLOWS))
    assert loaded_name(label, None, "patch-glow") == label
    assert loaded_name("HiREC-CVAE", None, "hirec-cvae") == "HiREC-CVAE"
    assert (
        loaded_name(FROM_FILE, "/data/runs/hirec/model.safetensors", "hirec-cvae")
        == "model.safetensors (hirec-cvae)"
    )


def test_bundled_mental_map_card_says_its_weights_are_an_average():
    model = api.load_model("mental-map", device="cpu")
    text = model_card(model)
    share = model.card["recipe"]["average"]["share_tuned"]
    assert f"{100 * share:.0f}% this fine-tune (WiSE-FT average)" in text
    assert "from axial: SSIM" in text  # its measured table, from the bundle


def test_bundled_anatomy_card_says_what_it_draws():
    text = model_card(api.load_model("mental-map-anatomy", device="cpu"))
    assert "the plane's 10 labels drawn by the simulator" in text
    assert "(their probabilities at temperature 0.3), the midline's logit +0.5" in text
    assert "from axial: SSIM 0.83" in text  # its in-family rows, from the bundle
