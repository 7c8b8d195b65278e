"""CBV vocabulary expansion and JSON-LD namespace handling, without a JSON-LD processor.

EPCIS 2.0 JSON-LD lets ``"bizStep": "shipping"`` stand for ``https://ref.gs1.org/cbv/BizStep-shipping``
because the standard context scopes a term list onto each vocabulary-typed field. The hash must not
depend on which spelling was sent, so the short terms, the legacy ``urn:epcglobal:cbv:...`` URNs and
GS1 CURIEs (``cbv:BizStep-shipping``) all expand to the web URI. The term lists below are the ones
of the EPCIS 2.0.0 JSON-LD context (https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld);
expansion is per field, as JSON-LD does it, so an extension value "shipping" stays "shipping".
"""

from collections.abc import Mapping
from types import MappingProxyType

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

# Prefixes the EPCIS 2.0.0 context itself defines; a document's own @context may override them.
STANDARD_PREFIXES: Mapping[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1_VOC,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

# Namespaces whose CURIEs are GS1 vocabulary and are expanded in values (user CURIEs are not:
# in XML a value "example:x" is plain text, and JSON and XML must hash alike).
_GS1_NAMESPACES = ("https://ref.gs1.org/", "https://gs1.org/voc/")


def _terms(base: str, names: str) -> dict[str, str]:
    return {name: base + name for name in names.split()}


BIZ_STEPS = _terms(CBV + "BizStep-", """
    accepting arriving assembling collecting commissioning consigning creating_class_instance
    cycle_counting decommissioning departing destroying disassembling dispensing encoding
    entering_exiting holding inspecting installing killing loading other packing picking receiving
    removing repackaging repairing replacing reserving retail_selling sampling sensor_reporting
    shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
    void_shipping""")
DISPOSITIONS = _terms(CBV + "Disp-", """
    active available completeness_verified completeness_inferred conformant container_closed
    container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
    inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement no_pedigree_match
    non_conformant non_sellable_other partially_dispensed recalled reserved retail_sold returned
    sellable_accessible sellable_not_accessible stolen unavailable unknown""")
BIZ_TRANSACTION_TYPES = _terms(CBV + "BTT-", """
    bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt""")
SOURCE_DESTINATION_TYPES = _terms(CBV + "SDT-", "owning_party possessing_party location")
ERROR_REASONS = _terms(CBV + "ER-", "did_not_occur incorrect_data")
SENSOR_COMPONENTS = _terms(CBV + "Comp-", """
    x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting
    northing latitude longitude altitude""")
SENSOR_EXCEPTIONS = _terms(GS1_VOC, "ALARM_CONDITION ERROR_CONDITION")
MEASUREMENT_TYPES = _terms(GS1_VOC, """
    AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude
    AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum
    AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless
    DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent
    ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance
    Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
    LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass
    MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy
    MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance
    Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time
    Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber""")

# EPCIS 1.x URN vocabulary -> CBV 2.0 web vocabulary.
_LEGACY_URN_PREFIXES = (
    ("urn:epcglobal:cbv:bizstep:", CBV + "BizStep-"),
    ("urn:epcglobal:cbv:disp:", CBV + "Disp-"),
    ("urn:epcglobal:cbv:btt:", CBV + "BTT-"),
    ("urn:epcglobal:cbv:sdt:", CBV + "SDT-"),
    ("urn:epcglobal:cbv:er:", CBV + "ER-"),
)


def web_vocabulary(value: str) -> str:
    """Legacy ``urn:epcglobal:cbv:<kind>:<term>`` to its CBV 2.0 web URI; other values unchanged."""
    if value.startswith("urn:epcglobal:cbv:"):
        for urn_prefix, web_prefix in _LEGACY_URN_PREFIXES:
            if value.startswith(urn_prefix):
                return web_prefix + value[len(urn_prefix):]
    return value


_CACHE_LIMIT = 256
_namespaces_cache: dict[str, Mapping[str, str]] = {}


def namespaces_of(context: object) -> Mapping[str, str]:
    """Prefix -> namespace IRI from a JSON-LD ``@context`` (a URL, an object, or a list of them).

    Remote contexts are not fetched: the only one EPCIS needs is the standard context, whose
    prefixes are built in (STANDARD_PREFIXES); later definitions override earlier ones.
    Memoised on the context's text: the events of one supplier share one context.
    """
    key = repr(context)
    cached = _namespaces_cache.get(key)
    if cached is None:
        cached = MappingProxyType(_parse_namespaces(context))
        if len(_namespaces_cache) >= _CACHE_LIMIT:
            _namespaces_cache.clear()
        _namespaces_cache[key] = cached
    return cached


def _parse_namespaces(context: object) -> dict[str, str]:
    namespaces = dict(STANDARD_PREFIXES)
    for entry in context if isinstance(context, list) else [context]:
        if not isinstance(entry, dict):
            continue
        for prefix, definition in entry.items():
            if isinstance(definition, dict):
                definition = definition.get("@id")
            if isinstance(definition, str) and not prefix.startswith("@"):
                namespaces[prefix] = definition
    return namespaces


def expand_key(key: str, namespaces: Mapping[str, str]) -> str:
    """``prefix:local`` -> ``{namespace}local`` (the XML Clark notation the hash uses for names)."""
    prefix, colon, local = key.partition(":")
    if colon and prefix in namespaces:
        return "{" + namespaces[prefix] + "}" + local
    return key


def expand_curie(value: str, namespaces: Mapping[str, str], *, gs1_only: bool) -> str:
    """``cbv:BizStep-shipping`` -> full URI when the prefix is known; else ``value`` unchanged.

    Fields the EPCIS context types as IRIs expand any known prefix, as JSON-LD does. In plain
    literals (extension values) only GS1 vocabulary CURIEs expand: in XML such a value is plain
    text, and the JSON and XML forms of an event must hash alike.
    """
    prefix, colon, local = value.partition(":")
    if colon and not local.startswith("//"):
        namespace = namespaces.get(prefix)
        if namespace is not None and (not gs1_only or namespace.startswith(_GS1_NAMESPACES)):
            return namespace + local
    return value
