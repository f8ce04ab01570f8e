# Sourced by scripts/run.sh and scripts/cluster.sh: mints a demo access token (HS256, 12 hours) with the signing key
# in $Auth__SigningKey, the way the product's auth service issues them. Needs openssl.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
mint_token() {  # $1: role
  local header payload signature exp
  exp=$(( $(date +%s) + 12 * 3600 ))
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"sub":"demo-user","type":"access","role":"%s","exp":%d}' "$1" "$exp" | b64url)
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -mac HMAC -macopt "key:$Auth__SigningKey" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}
