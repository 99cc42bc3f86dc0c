"""The output datasets, staged as Hive-partitioned Parquet."""
