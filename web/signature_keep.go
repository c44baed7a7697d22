package web

import "github.com/tailhook-dev/tailhook/storage"

// keepSavedSecrets fills in the secrets a PUT of the bin's own provider
// leaves out with the saved ones: changing the tolerance (or any other
// setting) must not need the secret typed again, and the page never has
// the secret to send back. Another provider starts from nothing.
func keepSavedSecrets(bin storage.Bin, provider string, params map[string]string) {
	if bin.Signature == nil || bin.Signature.Provider != provider {
		return
	}
	for k, v := range bin.Signature.Params {
		if _, given := params[k]; !given && pageSecret(k) {
			params[k] = v
		}
	}
}
