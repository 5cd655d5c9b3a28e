# Shared by test-broken-variants.sh and test-broken-redis-cluster.sh (sourced, not run): a variant
# is a copy of the repo with one file mutated; the check run on it must fail for the right reason.
# The caller sets R (the repo), T (a scratch directory), pass=0 and fail=0.

# expect_fail NAME EXPECTED_REGEX COMMAND...: the command must fail and print EXPECTED_REGEX
expect_fail() {
  local name=$1 want=$2; shift 2
  if "$@" > "$T/out" 2>&1; then
    echo "FAIL variant '$name' was NOT caught: the check passed"; fail=$((fail+1))
  elif grep -Eq "$want" "$T/out"; then
    echo "ok   variant '$name' caught: $(grep -Em1 "$want" "$T/out" | cut -c1-150)"; pass=$((pass+1))
  else
    echo "FAIL variant '$name' failed for another reason than /$want/:"; tail -5 "$T/out"; fail=$((fail+1))
  fi
}

# a copy of the repo's tracked small files, mutated by one sed expression
variant() {
  local dir=$T/$1 file=$2 expr=$3
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$R" && tar --exclude=./target --exclude=./.git -cf - .) | tar -C "$dir" -xf -
  cp "$dir/$file" "$T/before"
  sed -i "$expr" "$dir/$file"
  cmp -s "$T/before" "$dir/$file" && { echo "variant $1: the sed expression changed nothing" >&2; return 1; }
  echo "$dir"
}
