print("parley-enclave")
