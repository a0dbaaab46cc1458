# terraform plan -var-file=environments/staging.tfvars
environment = "staging"
aws_region  = "us-east-1"
vpc_cidr    = "10.40.0.0/16"

# One NAT gateway for both zones: a zone failure may cut staging off; $32.85 a month saved.
nat_gateway_per_az = false

# Created by hand before the first apply (docs/deployment.md); terraform only reads the ARNs.
database_secret_arn          = "arn:aws:secretsmanager:us-east-1:111111111111:secret:image-processor/staging/database-AbCdEf"
api_key_secret_arn           = "arn:aws:secretsmanager:us-east-1:111111111111:secret:image-processor/staging/api-key-AbCdEf"
flower_basic_auth_secret_arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:image-processor/staging/flower-basic-auth-AbCdEf"
events_auth_token_secret_arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:image-processor/staging/events-auth-token-AbCdEf"
api_certificate_arn          = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
api_domain_name              = "api.staging.example.com"
flower_certificate_arn       = "arn:aws:acm:us-east-1:111111111111:certificate/11111111-1111-1111-1111-111111111111"

image_processing_queue_name = "image-processing-staging"
images_bucket               = "image-processor-staging-images-111111111111"

# flower_allowed_cidrs: the operators' VPN or office CIDR; unset, the VPC's own (a bastion in it,
# or a Client VPN endpoint associated with it).
worker_min_count        = 0
worker_max_count        = 4
api_desired_count       = 1
database_instance_class = "db.t4g.micro"
valkey_replicas         = 0
log_retention_days      = 30
alarm_email             = ""

# Build once, promote by digest: CI builds and pushes here, and production (account
# 222222222222, the account of prod.tfvars) pulls the very image staging's smoke test passed.
ecr_pull_account_ids = ["222222222222"]

github_repository = "example-org/image-processor"
