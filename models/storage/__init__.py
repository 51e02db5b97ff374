"""Where data lives: the one MongoDB client per process (embedded SecantusDB, MongoDB or
mongomock), the key files, encryption at rest, attachments in GridFS, and the indexes step."""
