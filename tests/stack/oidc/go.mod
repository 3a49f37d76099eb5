module hallmark.test/stack/oidc

go 1.24
