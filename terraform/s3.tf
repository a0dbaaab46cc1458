# Originals and results. Private, encrypted, versioned; TLS only.
#
# Retention (docs/deployment.md, "Retention"): originals and results stay as long as their book
# (the API deletes them with it; beat's orphan sweep removes objects no row names); after 30 days
# they move to Intelligent-Tiering, which moves an object nobody read for 30 more days to its
# infrequent tier and back on the next read, with no retrieval fee. An overwritten or deleted
# version goes 30 days later, and its delete marker after it. listings/ is the import source of
# another system, and is left as it writes it.

resource "aws_s3_bucket" "images" {
  # checkov:skip=CKV_AWS_18: server access logs need a second bucket; CloudTrail data events are the audit trail if one is wanted.
  # checkov:skip=CKV_AWS_144: no cross-region replication; originals can be re-imported from their listings.
  # checkov:skip=CKV2_AWS_62: nothing consumes S3 event notifications; the API enqueues work itself.
  # checkov:skip=CKV_AWS_145: SSE-S3 (AES256) encryption; a KMS key would add kms permissions and per-request cost for no extra reader separation.
  bucket = var.images_bucket
}

resource "aws_s3_bucket_public_access_block" "images" {
  bucket                  = aws_s3_bucket.images.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "images" {
  bucket = aws_s3_bucket.images.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "images" {
  bucket = aws_s3_bucket.images.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {}

    # A redelivered task overwrites its result key; the overwritten version goes after 30 days.
    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    # A delete (a failed job's result, the orphan sweep's, an upload whose row never came)
    # leaves a delete marker; once the versions behind it have expired, the marker goes too.
    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "tier-images"
    status = "Enabled"

    # Originals (books/<book>/...) and results (books/<book>_processed_<job>.png) alike: a
    # photo is read most in its first days (processing, the first views). No expiration: a
    # book's photos live as long as the book.
    filter {
      prefix = var.s3_images_prefix
    }

    transition {
      days          = 30
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  depends_on = [aws_s3_bucket_versioning.images]
}

data "aws_iam_policy_document" "images_bucket" {
  statement {
    sid    = "DenyInsecureTransport"
    effect = "Deny"
    # Every action: a request over plain HTTP is refused whatever it asks.
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.images.arn,
      "${aws_s3_bucket.images.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "images" {
  bucket = aws_s3_bucket.images.id
  policy = data.aws_iam_policy_document.images_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.images]
}
