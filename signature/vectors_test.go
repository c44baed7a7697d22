package signature

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// hdr builds a header from name/value pairs.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// Official vectors, each from the provider's own SDK test suite (source in
// the comment beside it). Each case must verify, and must fail once the body
// is changed.
func TestOfficialVectors(t *testing.T) {
	const pagerdutyBody = `{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}`
	const coinbaseBody = `{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","api_version":"2018-03-22","created_at":"2017-01-31T20:49:02Z","data":{"code":"66BEOV2A","name":"The Sovereign Individual","description":"Mastering the Transition to the Information Age","hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A","created_at":"2017-01-31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z","timeline":[{"time":"2017-01-31T20:49:02Z","status":"NEW"}],"metadata":{},"pricing_type":"no_price","payments":[],"addresses":{"bitcoin":"0000000000000000000000000000000000","ethereum":"0x0000000000000000000000000000000000000000","litecoin":"3000000000000000000000000000000000","bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}`
	const slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	const squareBody = `{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`
	const twilioForm = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	const hubspotV1Body = `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]`
	const sendgridPub = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="

	form := hdr("Content-Type", "application/x-www-form-urlencoded")
	withForm := func(kv ...string) http.Header {
		h := form.Clone()
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}

	tests := []struct {
		name, provider string
		p              Params
		in             Input
		variant        string
	}{
		// octokit/webhooks-methods.js test/verify.test.ts: JSON.stringify({foo:"bar"}, null, 2) + "\n".
		{name: "github octokit", provider: "github", p: Params{"secret": "mysecret"},
			in: Input{Body: []byte("{\n  \"foo\": \"bar\"\n}\n"), Header: hdr("X-Hub-Signature-256", "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f")}},
		// octokit/webhooks-methods.js README.md: sign({secret:"mysecret", algorithm:"sha1"}, eventPayload), payload {"foo":"bar"}.
		{name: "github octokit sha1", provider: "github", p: Params{"secret": "mysecret"}, variant: "legacy X-Hub-Signature, SHA-1",
			in: Input{Body: []byte(`{"foo":"bar"}`), Header: hdr("X-Hub-Signature", "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8")}},
		// standard-webhooks/standard-webhooks libraries/python/tests/test_webhooks.py test_sign_function (also php, java, csharp tests).
		{name: "standard webhooks", provider: "standard-webhooks", p: Params{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "tolerance_s": "0"},
			in: Input{Body: []byte(`{"test": 2432232314}`), Header: hdr("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp", "1614265330", "webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")}},
		// standard-webhooks/standard-webhooks libraries/rust/src/lib.rs test_sign.
		{name: "standard webhooks rust", provider: "standard-webhooks", p: Params{"secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"},
			in: Input{Now: time.Unix(1649367553, 0), Body: []byte(`{"email":"test@example.com","username":"test_user"}`), Header: hdr("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "webhook-timestamp", "1649367553", "webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=")}},
		// Svix uses the same vector with svix-* headers (same source as above; Svix's libraries share it).
		{name: "svix", provider: "svix", p: Params{"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
			in: Input{Now: time.Unix(1614265330+10, 0), Body: []byte(`{"test": 2432232314}`), Header: hdr("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp", "1614265330", "svix-signature", "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")}},
		// slackapi/python-slack-sdk tests/slack_sdk/signature/test_signature_verifier.py.
		{name: "slack", provider: "slack", p: Params{"secret": "8f742231b10e8888abcd99yyyzzz85a5"},
			in: Input{Now: time.Unix(1531420618, 0), Body: []byte(slackBody), Header: hdr("X-Slack-Request-Timestamp", "1531420618", "X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")}},
		// Shopify/shopify-api-js packages/shopify-api/lib/webhooks/__tests__/validate.test.ts (apiSecretKey 'test_secret_key' from its test config).
		{name: "shopify", provider: "shopify", p: Params{"secret": "test_secret_key"},
			in: Input{Body: []byte(`{"foo": "bar"}`), Header: hdr("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")}},
		// twilio/twilio-go client/request_validator_test.go TestRequestValidator_Validate.
		{name: "twilio form", provider: "twilio", p: Params{"secret": "12345"},
			in: Input{Method: "POST", URL: "https://mycompany.com/myapp.php?foo=1&bar=2", Body: []byte(twilioForm), Header: withForm("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")}},
		// twilio/twilio-go: "https and port is specified but signature is generated without it".
		{name: "twilio port stripped", provider: "twilio", p: Params{"secret": "12345"}, variant: "URL without port :1234",
			in: Input{Method: "POST", URL: "https://mycompany.com:1234/myapp.php?foo=1&bar=2", Body: []byte(twilioForm), Header: withForm("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")}},
		// twilio/twilio-go: "http and port is specified and signature is generated with it".
		{name: "twilio http port", provider: "twilio", p: Params{"secret": "12345"},
			in: Input{Method: "POST", URL: "http://mycompany.com:1234/myapp.php?foo=1&bar=2", Body: []byte(twilioForm), Header: withForm("X-Twilio-Signature", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")}},
		// twilio/twilio-go TestRequestValidator_ValidateBody (JSON body, bodySHA256 in the URL).
		{name: "twilio json", provider: "twilio", p: Params{"secret": "12345"},
			in: Input{Method: "POST", URL: "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", Body: []byte(`{"property": "value", "boolean": true}`), Header: hdr("Content-Type", "application/json", "X-Twilio-Signature", "a9nBmqA0ju/hNViExpshrM61xv4=")}},
		// sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js (payload = JSON.stringify of its object).
		{name: "sendgrid", provider: "sendgrid", p: Params{"secret": sendgridPub},
			in: Input{Body: []byte(`{"category":"example_payload","event":"test_event","message_id":"message_id"}`), Header: hdr("X-Twilio-Email-Event-Webhook-Timestamp", "1588788367", "X-Twilio-Email-Event-Webhook-Signature", "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")}},
		// square/square-nodejs-sdk tests/integration/webhooks.test.ts "test signature validation pass".
		{name: "square", provider: "square", p: Params{"secret": "Ibxx_5AKakO-3qeNVR61Dw", "url": "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"},
			in: Input{Body: []byte(squareBody), Header: hdr("X-Square-Hmacsha256-Signature", "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=")}},
		// square/square-nodejs-sdk tests/integration/webhooks.test.ts "unescaped chars".
		{name: "square 2", provider: "square", p: Params{"secret": "signature-key"},
			in: Input{URL: "https://webhook.site/webhooks", Body: []byte(`{"data":{"type":"webhooks","id":"fake_id"}}`), Header: hdr("X-Square-Hmacsha256-Signature", "W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=")}},
		// PaddleHQ/paddle-node-sdk src/__tests__/notifications/webhooks-validator.test.ts (fake time 2023-11-01, 5 s window).
		{name: "paddle", provider: "paddle", p: Params{"secret": "VALID_SECRET"},
			in: Input{Now: time.Unix(1698796800+5, 0), Body: []byte(`{"data": ["1", "2"]}`), Header: hdr("Paddle-Signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9")}},
		// Same file, "Valid signature with multiple hashes".
		{name: "paddle multiple", provider: "paddle", p: Params{"secret": "VALID_SECRET"},
			in: Input{Now: time.Unix(1698796800, 0), Body: []byte(`{"data": "value"}`), Header: hdr("Paddle-Signature", "ts=1698796800;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h1=28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261;h2=RANDOM_HASH")}},
		// PagerDuty/go-pagerduty webhookv3/webhookv3_test.go TestVerifySignature.
		{name: "pagerduty", provider: "pagerduty", p: Params{"secret": "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK"},
			in: Input{Body: []byte(pagerdutyBody), Header: hdr("X-PagerDuty-Signature", "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5,v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd")}},
		// HubSpot/hubspot-api-nodejs test/unit/signature.spec.ts "is valid v1".
		{name: "hubspot v1", provider: "hubspot", p: Params{"secret": "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"}, variant: "v1",
			in: Input{Method: "POST", Body: []byte(hubspotV1Body), Header: hdr("X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de")}},
		// Same file, "is valid v2 with body".
		{name: "hubspot v2", provider: "hubspot", p: Params{"secret": "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"}, variant: "v2",
			in: Input{Method: "POST", URL: "https://www.example.com/webhook_uri", Body: []byte(`{"example_field":"example_value"}`), Header: hdr("X-HubSpot-Signature-Version", "v2", "X-HubSpot-Signature", "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900")}},
		// muxinc/mux-node-sdk tests/api-resources/webhooks.test.ts.
		{name: "mux", provider: "mux", p: Params{"secret": "SuperSecret123"},
			in: Input{Now: time.Unix(1565125718, 0), Body: []byte(`{"test":"body"}`), Header: hdr("Mux-Signature", "t=1565125718,v1=invalid-sig,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7")}},
		// razorpay/razorpay-node test/utils/razorpay-utils.spec.js validateWebhookSignature.
		{name: "razorpay", provider: "razorpay", p: Params{"secret": "123456"},
			in: Input{Body: []byte(`{"a":1,"b":2,"c":{"d":3}}`), Header: hdr("X-Razorpay-Signature", "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc")}},
		// coinbase/coinbase-commerce-node test/testWebhook.spec.js.
		{name: "coinbase", provider: "coinbase", p: Params{"secret": "30291a20-0bd1-4267-9b0f-e6e7b123c0bf"},
			in: Input{Body: []byte(coinbaseBody), Header: hdr("X-CC-Webhook-Signature", "8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verify(tt.provider, tt.p, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !v.Valid {
				t.Fatalf("want valid, got %+v", v)
			}
			if v.Details.Variant != tt.variant {
				t.Errorf("variant = %q, want %q", v.Details.Variant, tt.variant)
			}
			tampered := tt.in
			tampered.Body = append([]byte(strings.Clone(string(tt.in.Body))), 'x')
			v, err = Verify(tt.provider, tt.p, tampered)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid {
				t.Fatalf("tampered body still valid: %+v", v)
			}
		})
	}
}

// Negative official vectors: the SDKs' own "must fail" cases.
func TestOfficialNegativeVectors(t *testing.T) {
	tests := []struct {
		name, provider string
		p              Params
		in             Input
		reason         string
	}{
		// PaddleHQ/paddle-node-sdk webhooks-validator.test.ts: 6 s after ts is outside Paddle's 5 s window.
		{name: "paddle 6s", provider: "paddle", p: Params{"secret": "VALID_SECRET"},
			in:     Input{Now: time.Unix(1698796806, 0), Body: []byte(`{"data": ["1", "2"]}`), Header: hdr("Paddle-Signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9")},
			reason: "signature matches, but the timestamp is 6 seconds older than the capture (tolerance 5 seconds)."},
		// Same file: a body with extra spaces must not verify.
		{name: "paddle spaces", provider: "paddle", p: Params{"secret": "VALID_SECRET"},
			in:     Input{Now: time.Unix(1698796800, 0), Body: []byte(`{ "data": [ "1", "2" ]}`), Header: hdr("Paddle-Signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9")},
			reason: "the signature in Paddle-Signature does not match the HMAC-SHA256 of the signed message with the configured secret."},
		// muxinc/mux-node-sdk webhooks.test.ts: 6 minutes later is too old.
		{name: "mux too old", provider: "mux", p: Params{"secret": "SuperSecret123"},
			in:     Input{Now: time.Unix(1565125718+360, 0), Body: []byte(`{"test":"body"}`), Header: hdr("Mux-Signature", "t=1565125718,v1=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7")},
			reason: "signature matches, but the timestamp is 6 minutes older than the capture (tolerance 5 minutes)."},
		// muxinc/mux-node-sdk: only a v2 entry → no v1 signature.
		{name: "mux v2 only", provider: "mux", p: Params{"secret": "SuperSecret123"},
			in:     Input{Now: time.Unix(1565125718, 0), Body: []byte(`{"test":"body"}`), Header: hdr("Mux-Signature", "t=1565125718,v2=854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7")},
			reason: "Mux-Signature is malformed: it has no v1= signature."},
		// sendgrid-nodejs eventwebhook.spec.js: another key must not verify.
		{name: "sendgrid other key", provider: "sendgrid", p: Params{"secret": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="},
			in:     Input{Body: []byte(`{"category":"example_payload","event":"test_event","message_id":"message_id"}`), Header: hdr("X-Twilio-Email-Event-Webhook-Timestamp", "1588788367", "X-Twilio-Email-Event-Webhook-Signature", "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")},
			reason: "the ECDSA P-256 signature in X-Twilio-Email-Event-Webhook-Signature does not verify with the configured public key over the received body."},
		// square-nodejs-sdk: wrong notification URL.
		{name: "square url mismatch", provider: "square", p: Params{"secret": "Ibxx_5AKakO-3qeNVR61Dw", "url": "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9"},
			in:     Input{Body: []byte(`{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}`), Header: hdr("X-Square-Hmacsha256-Signature", "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=")},
			reason: "the signature in X-Square-Hmacsha256-Signature does not match the HMAC-SHA256 of the signed message with the configured secret."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Verify(tt.provider, tt.p, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if v.Valid {
				t.Fatalf("want invalid, got %+v", v)
			}
			if v.Reason != tt.reason {
				t.Errorf("reason = %q\nwant     %q", v.Reason, tt.reason)
			}
		})
	}
}
