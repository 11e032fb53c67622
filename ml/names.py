"""Names and defaults that the command line shows and the library uses, in a module that
imports nothing heavy: `python -m ml --help` builds every parser without loading torch."""

BPTT_MODES = ("full", "tbptt", "checkpoint")
MUSIC_STYLES = ("folk", "chorale", "piano")  # a shipped music model each (ml.paths)
DEFAULT_MUSIC_STYLE = "folk"
SCHEDULES = ("budget", "epochs")  # what the learning-rate schedule spans (ml.training.TrainConfig)
RUN_FILES = ("best.pt", "last.pt", "metrics.jsonl", "loss.png")  # what a training run's folder holds
HEADS = ("sigmoid", "nade")  # piano output layers
SYNTHS = ("auto", "soundfont", "fluidsynth", "numpy")  # audio preview renderers
DEFAULT_FRAMES_PER_BEAT = 2  # the eighth-note grid of the Nottingham benchmark
