"""A patient's record for other systems and for the patient: FHIR R4, export, erasure."""
