"""The patient's consent: opting out of a channel and back in, and who to call instead."""
