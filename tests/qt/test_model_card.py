"""The model card a panel shows for the bundled weights."""

from napari_genmed import api
from napari_genmed._qt.model_box import model_card


def test_bundled_card_names_its_stage_and_its_table():
    model = api.load_model("rec-cvae", device="cpu")
    text = model_card(model)
    recipe, table = model.card["recipe"], model.card["metrics"]["table"]
    assert recipe["init_from"] == "tl-net"  # the bundled CVAEs are warm-started from TL-net
    assert "last training stage" in text and "from the bundled tl-net weights" in text
    three = next(r for r in table if r["views"] == "3 views")
    assert f"3 views: DC {three['dice']:.3f}" in text
    assert f"{recipe['epochs']} epochs, batch {recipe['batch_size']}" in text
