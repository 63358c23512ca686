"""The SNDS PMSI-MCO cleaning rules: names, defaults, what they remove and where they come from.

Each rule can be switched off in the study file (``data_cleaning.snds.<rule>: false``); each is counted
by ``check-data`` and in the report's data notes. Documented in data_schemas/snds.md.
"""

from __future__ import annotations

#: rule -> (description, reference)
RULES: dict[str, tuple[str, str]] = {
    "ghm_error": (
        "stays grouped in an error GHM (GRG_GHM starting with '90') excluded",
        "ATIH, manuel des GHM, CMD 90 (erreurs et autres sejours inclassables); SNDS collaborative "
        "documentation, fiche 'PMSI MCO'",
    ),
    "return_codes": (
        "stays with a chaining return code (NIR_RET, NAI_RET, SEX_RET, SEJ_RET, FHO_RET, PMS_RET, "
        "DAT_RET) other than 0 excluded from linkage",
        "ATIH, 'chainage anonyme' (codes retour); SNDS collaborative documentation, fiche 'Le chainage "
        "des sejours dans le PMSI'",
    ),
    "duplicate_finess": (
        "stays of the geographic FINESS of AP-HP, HCL and AP-HM (transmitted twice up to 2017) excluded",
        "SNDS collaborative documentation, fiche 'Activite en double dans les fichiers PMSI' (A. Vuagnat, "
        "DREES; N. Dia, HDH), table of MCO geographic FINESS 2005-2017",
    ),
    "duplicate_rsa": (
        "an RSA present in several year files (same ETA_NUM, RSA_NUM, patient and dates) counted once",
        "SNDS collaborative documentation, fiche 'PMSI MCO' (a stay belongs to the year of its discharge)",
    ),
}
RETURN_CODES = ("NIR_RET", "NAI_RET", "SEX_RET", "SEJ_RET", "FHO_RET", "PMS_RET", "DAT_RET")
#: the last year with the duplicated transmission
DUPLICATE_FINESS_LAST_YEAR = 2017
#: MCO geographic FINESS numbers of AP-HM, HCL and AP-HP duplicated in the PMSI-MCO files (2005-2017)
DUPLICATE_FINESS: tuple[str, ...] = (
    # AP-HM
    "130780521", "130783236", "130783293", "130784234", "130804297",
    # HCL (2011-2017)
    "690783154", "690784137", "690784152", "690784178", "690787478", "830100558",
    # AP-HP
    "600100101", "750041543", "750100018", "750100042", "750100075", "750100083", "750100091",
    "750100109", "750100125", "750100166", "750100208", "750100216", "750100232", "750100273",
    "750100299", "750801441", "750803447", "750803454", "910100015", "910100023", "920100013",
    "920100021", "920100039", "920100047", "920100054", "920100062", "930100011", "930100037",
    "930100045", "940100019", "940100027", "940100035", "940100043", "940100050", "940100068",
    "950100016",
)
#: PMSI discharge mode (SOR_MOD) -> discharge_mode of the builder
SOR_MOD = {"8": "home", "9": "death", "6": "transfer", "7": "transfer", "0": "transfer"}


def enabled(cleaning, rule: str) -> bool:
    """Is ``rule`` on? ``cleaning`` is None (defaults: all on), a mapping, or an object with attributes."""
    if cleaning is None:
        return True
    if isinstance(cleaning, dict):
        return bool(cleaning.get(rule, True))
    return bool(getattr(cleaning, rule, True))
