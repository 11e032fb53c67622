"""Character-level lyrics models: data, vocabulary, model, sampling, evaluation."""
