"""Input data: schemas (:mod:`.schema`), synthetic generator (:mod:`.synth`), data checks (:mod:`.checks`)."""
