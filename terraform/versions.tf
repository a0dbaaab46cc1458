terraform {
  # 1.10+: S3 backend locking with a lock file (use_lockfile), no DynamoDB table.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Pinned exactly: tests/deploy checks every argument against this provider version's
      # schema (the npm package @cdktf/provider-aws that is generated from it).
      version = "6.25.0"
    }
  }

  # Partial configuration: environments/<env>.s3.tfbackend supplies bucket, key and region.
  backend "s3" {}
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = var.name
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
