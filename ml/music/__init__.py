"""Piano-roll music models: MIDI conversion, data, model, sampling, audio, evaluation."""
