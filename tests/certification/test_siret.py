import pytest

from certification.errors import ValidationFailed
from certification.siret import is_valid_siret, validate_siret


@pytest.mark.parametrize(
    "value",
    ["73282932000074", "732 829 320 00074", "73282932000074\u00a0", "35600000000010"],  # INSEE; La Poste
)
def test_valid_sirets(value):
    assert is_valid_siret(value)


@pytest.mark.parametrize("value", ["73282932000075", "35600000000011", "1234", "7328293200007A", "", "123456789012345"])
def test_invalid_sirets(value):
    assert not is_valid_siret(value)


def test_validate_returns_normalized_digits():
    assert validate_siret("732.829.320-00074") == "73282932000074"


def test_validate_explains_in_french():
    with pytest.raises(ValidationFailed) as exc:
        validate_siret("73282932000075")
    assert "clé de contrôle" in exc.value.message
    with pytest.raises(ValidationFailed) as exc:
        validate_siret("abc")
    assert "14 chiffres" in exc.value.message
