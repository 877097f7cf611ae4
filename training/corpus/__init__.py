"""The training corpus of the bundled model: real footage and photographs that Debian and PyPI packages ship.

- `catalogue`: which files of which package versions are taken, with licence, origin and content (the rules);
- `sources`: the committed sources table (`sources.tsv`: package, version, path, licence, sha256, split);
- `splits`: train / validation / test by source group, fixed in the table, and the cross-split near-duplicate check;
- `fetch_sources`: download the packages by name and version, verify every file's sha256, build the corpus with
  `flashvsr curate`, apply the splits to the shard manifest and export the evaluation folders.
"""
