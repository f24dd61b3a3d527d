"""The storage service: a company's cloud storage credentials (S3, Google Storage, Azure), kept encrypted."""
