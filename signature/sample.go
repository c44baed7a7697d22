package signature

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SampleEvent is a realistic, signed delivery of one provider, ready to be
// sent through a bin's capture path.
type SampleEvent struct {
	// Method is the HTTP method to send (POST).
	Method string `json:"method"`
	// Path is the sub-path under the capture URL: "/" + provider id.
	Path string `json:"path"`
	// Header holds the event and signature headers, Content-Type included.
	Header http.Header `json:"headers"`
	// Body is the payload, exactly the bytes that were signed.
	Body []byte `json:"body"`
}

type sampleDef struct {
	method, ctype string
	body          string            // placeholders: {{unix}} {{ms}} {{iso}} {{id}}
	headers       map[string]string // event headers besides the signature
}

const jsonCT = "application/json"

var samples = map[string]sampleDef{
	"stripe": {ctype: "application/json; charset=utf-8",
		body:    `{"id":"evt_{{id}}","object":"event","api_version":"2024-06-20","created":{{unix}},"data":{"object":{"id":"pi_3Q{{id}}","object":"payment_intent","amount":2000,"amount_received":2000,"currency":"usd","customer":null,"description":"tailhook sample","livemode":false,"metadata":{},"payment_method_types":["card"],"status":"succeeded"}},"livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"type":"payment_intent.succeeded"}`,
		headers: map[string]string{"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}},
	"github": {ctype: jsonCT,
		body:    `{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"id":186853002,"name":"hello-world","full_name":"octo-org/hello-world","private":false,"default_branch":"main"},"pusher":{"name":"octocat","email":"octocat@github.com"},"sender":{"login":"octocat","id":1,"type":"User"},"created":false,"deleted":false,"forced":false,"commits":[{"id":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","message":"Update README.md","timestamp":"{{iso}}","author":{"name":"Octo Cat","email":"octocat@github.com","username":"octocat"},"added":[],"removed":[],"modified":["README.md"]}],"head_commit":{"id":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","message":"Update README.md","timestamp":"{{iso}}"}}`,
		headers: map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "{{uuid}}", "X-GitHub-Hook-ID": "123456789", "User-Agent": "GitHub-Hookshot/5f1c3a7"}},
	"gitlab": {ctype: jsonCT,
		body:    `{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/main","user_username":"jsmith","project_id":15,"project":{"id":15,"name":"Diaspora","path_with_namespace":"mike/diaspora","default_branch":"main"},"commits":[{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"fixed readme","timestamp":"{{iso}}","author":{"name":"GitLab dev","email":"gitlabdev@example.com"}}],"total_commits_count":1}`,
		headers: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "{{uuid}}", "Idempotency-Key": "{{uuid}}", "User-Agent": "GitLab/17.0.0"}},
	"bitbucket": {ctype: jsonCT,
		body:    `{"push":{"changes":[{"new":{"type":"branch","name":"main","target":{"hash":"709d658dc5b6d6afcd46049c2f332ee3f515a67d","message":"Update README","date":"{{iso}}"}},"old":{"type":"branch","name":"main"}}]},"repository":{"type":"repository","full_name":"team/repo","name":"repo"},"actor":{"display_name":"Jane Doe","type":"user"}}`,
		headers: map[string]string{"X-Event-Key": "repo:push", "X-Request-UUID": "{{uuid}}", "X-Hook-UUID": "{{uuid}}", "User-Agent": "Bitbucket-Webhooks/2.0"}},
	"shopify": {ctype: jsonCT,
		body:    `{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","email":"jon@example.com","created_at":"{{iso}}","currency":"USD","financial_status":"paid","name":"#9999","total_price":"403.00","subtotal_price":"393.00","total_tax":"0.00","line_items":[{"id":866550311766439020,"title":"IPod Nano - 8GB","quantity":1,"price":"199.00","sku":"IPOD2008PINK"}],"customer":{"id":115310627314723954,"email":"john@example.com","first_name":"John","last_name":"Smith"}}`,
		headers: map[string]string{"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": "example.myshopify.com", "X-Shopify-API-Version": "2025-01", "X-Shopify-Webhook-Id": "{{uuid}}", "X-Shopify-Triggered-At": "{{iso}}"}},
	"slack": {ctype: jsonCT,
		body:    `{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"app_mention","user":"U123ABC456","text":"<@U0LAN0Z89> is it everything a river should be?","ts":"{{unix}}.000200","channel":"C123ABC456","event_ts":"{{unix}}.000200"},"type":"event_callback","event_id":"Ev123ABC456","event_time":{{unix}},"authorizations":[{"team_id":"T123ABC456","user_id":"U123ABC456","is_bot":true}]}`,
		headers: map[string]string{"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}},
	"standard-webhooks": {ctype: jsonCT,
		body: `{"type":"invoice.paid","timestamp":"{{iso}}","data":{"id":"inv_{{id}}","amount":4200,"currency":"EUR","customer_id":"cus_123"}}`},
	"svix": {ctype: jsonCT,
		body:    `{"type":"email.delivered","created_at":"{{iso}}","data":{"email_id":"{{uuid}}","from":"Acme <onboarding@resend.dev>","to":["delivered@resend.dev"],"subject":"Sending this example"}}`,
		headers: map[string]string{"User-Agent": "Svix-Webhooks/1.40"}},
	"twilio": {ctype: "application/x-www-form-urlencoded",
		body:    `ToCountry=US&ToState=CA&SmsMessageSid=SM{{id}}&NumMedia=0&ToCity=SAN+FRANCISCO&FromZip=94105&SmsSid=SM{{id}}&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+from+tailhook&FromCountry=US&To=%2B14155550100&ToZip=94107&NumSegments=1&MessageSid=SM{{id}}&AccountSid=AC{{id}}&From=%2B14155550123&ApiVersion=2010-04-01`,
		headers: map[string]string{"User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": "{{uuid}}"}},
	"square": {ctype: jsonCT,
		body: `{"merchant_id":"6SSW7HV8K2ST5","type":"payment.created","event_id":"{{uuid}}","created_at":"{{iso}}","data":{"type":"payment","id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","object":{"payment":{"id":"KkAkhdMsgzn59SM8A89WgKwekxLZY","amount_money":{"amount":100,"currency":"USD"},"status":"APPROVED","source_type":"CARD","created_at":"{{iso}}"}}}}`},
	"paddle": {ctype: jsonCT,
		body: `{"event_id":"evt_01h{{id}}","event_type":"transaction.completed","occurred_at":"{{iso}}","notification_id":"ntf_01h{{id}}","data":{"id":"txn_01h{{id}}","status":"completed","customer_id":"ctm_01h8441jn5pcwrfhwh78jqt8hk","currency_code":"USD","origin":"web","details":{"totals":{"subtotal":"2400","tax":"0","total":"2400"}},"items":[{"price":{"id":"pri_01gsz8x8sawmvhz1pv30nge1ke"},"quantity":1}]}}`},
	"discord": {ctype: jsonCT,
		body:    `{"app_permissions":"0","application_id":"1234567890","entitlements":[],"id":"{{id}}","token":"aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzYW1wbGU","type":1,"user":{"id":"53908232506183680","username":"mason","discriminator":"0"},"version":1}`,
		headers: map[string]string{"User-Agent": "Discord-Interactions/1.0 (+https://discord.com)"}},
	"linear": {ctype: jsonCT,
		body:    `{"action":"create","type":"Issue","createdAt":"{{iso}}","data":{"id":"{{uuid}}","identifier":"ENG-42","title":"Sample issue from tailhook","priority":2,"state":{"name":"Todo"},"team":{"key":"ENG","name":"Engineering"}},"url":"https://linear.app/acme/issue/ENG-42","organizationId":"{{uuid}}","webhookTimestamp":{{ms}},"webhookId":"{{uuid}}"}`,
		headers: map[string]string{"Linear-Delivery": "{{uuid}}", "Linear-Event": "Issue", "User-Agent": "Linear-Webhook"}},
	"typeform": {ctype: jsonCT,
		body: `{"event_id":"01H{{id}}","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15","submitted_at":"{{iso}}","definition":{"id":"lT4Z3j","title":"Webhooks example","fields":[{"id":"DlXFaesGBpoF","type":"short_text","title":"What is your name?"}]},"answers":[{"type":"text","text":"Laura","field":{"id":"DlXFaesGBpoF","type":"short_text"}}]}}`},
	"zoom": {ctype: jsonCT,
		body:    `{"event":"meeting.started","event_ts":{{ms}},"payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2,"start_time":"{{iso}}","timezone":"America/Los_Angeles","duration":60}}}`,
		headers: map[string]string{"User-Agent": "Zoom Marketplace/1.0a"}},
	"intercom": {ctype: jsonCT,
		body: `{"type":"notification_event","app_id":"abc123","data":{"type":"notification_event_data","item":{"type":"contact","id":"65f1c3","email":"joe@example.com","name":"Joe"}},"id":"notif_{{uuid}}","topic":"contact.user.created","delivery_status":"pending","delivery_attempts":1,"created_at":{{unix}}}`},
	"mailgun": {ctype: jsonCT,
		body: `{"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","timestamp":{{unix}}.0,"recipient":"alice@example.com","message":{"headers":{"message-id":"20130503182626.18666.16540@example.com","from":"Bob <bob@example.com>","to":"Alice <alice@example.com>","subject":"Test delivered webhook"}},"delivery-status":{"code":250,"message":"OK"}}}`},
	"sendgrid": {ctype: jsonCT,
		// SendGrid's event payload is a JSON array that ends with CRLF; those bytes are signed.
		body: "[{\"email\":\"example@test.com\",\"timestamp\":{{unix}},\"smtp-id\":\"<14c5d75ce93.dfd.64b469@ismtpd-555>\",\"event\":\"delivered\",\"category\":\"cat facts\",\"sg_event_id\":\"rbtnWrG1DVDGGGFHFyun0A==\",\"sg_message_id\":\"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0\",\"response\":\"250 OK\"}]\r\n"},
	"twitch": {ctype: jsonCT,
		body:    `{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"{{iso}}","cost":0},"event":{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","followed_at":"{{iso}}"}}`,
		headers: map[string]string{"Twitch-Eventsub-Message-Type": "notification", "Twitch-Eventsub-Subscription-Type": "channel.follow", "Twitch-Eventsub-Subscription-Version": "2"}},
	"hubspot": {ctype: jsonCT,
		body:    `[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":{{ms}},"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW"}]`,
		headers: map[string]string{"User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)"}},
	"pagerduty": {ctype: jsonCT,
		body:    `{"event":{"id":"01DEN{{id}}","event_type":"incident.triggered","resource_type":"incident","occurred_at":"{{iso}}","agent":null,"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","urgency":"high","service":{"id":"PF9KMXH","summary":"API Service","type":"service_reference"}}}}`,
		headers: map[string]string{"X-Webhook-Id": "{{uuid}}", "User-Agent": "PagerDuty-Webhook/V3.0"}},
	"zendesk": {ctype: jsonCT,
		body:    `{"ticket":{"id":35436,"subject":"Help, my printer is on fire!","status":"open","priority":"high","requester":{"id":20978392,"email":"customer@example.com"},"updated_at":"{{iso}}"},"current_user":{"id":12345,"name":"Agent"}}`,
		headers: map[string]string{"X-Zendesk-Webhook-Id": "01F{{id}}", "X-Zendesk-Account-Id": "1234567", "User-Agent": "Zendesk Webhook"}},
	"mux": {ctype: jsonCT,
		body: `{"type":"video.asset.ready","object":{"type":"asset","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},"id":"{{uuid}}","environment":{"name":"Production","id":"j0863n"},"data":{"id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002","status":"ready","duration":23.8,"aspect_ratio":"16:9","playback_ids":[{"policy":"public","id":"sxY31L6Opl02RWPpm3Gro9XTe7fRHBjs92x93kiB1vpc"}],"created_at":{{unix}}},"created_at":"{{iso}}","accessor_source":null,"accessor":null,"request_id":null}`},
	"vercel": {ctype: jsonCT,
		body: `{"id":"{{id}}","type":"deployment.succeeded","createdAt":{{ms}},"region":"sfo1","payload":{"team":{"id":"team_abc"},"user":{"id":"usr_abc"},"deployment":{"id":"dpl_{{id}}","meta":{},"url":"my-app-abc123.vercel.app","name":"my-app"},"links":{"deployment":"https://vercel.com/acme/my-app/dpl","project":"https://vercel.com/acme/my-app"},"target":"production","project":{"id":"prj_abc"}}}`},
	"woocommerce": {ctype: jsonCT,
		body:    `{"id":727,"parent_id":0,"status":"processing","currency":"USD","date_created":"{{iso}}","total":"29.35","customer_id":0,"billing":{"first_name":"John","last_name":"Doe","email":"john.doe@example.com"},"line_items":[{"id":315,"name":"Woo Single #1","product_id":93,"quantity":2,"total":"6.00"}],"payment_method":"bacs"}`,
		headers: map[string]string{"X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "created", "X-WC-Webhook-ID": "12", "X-WC-Webhook-Delivery-ID": "{{id}}", "User-Agent": "WooCommerce/9.0.0 Hookshot (WordPress/6.5)"}},
	"calendly": {ctype: jsonCT,
		body: `{"created_at":"{{iso}}","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{"email":"test@example.com","name":"John Doe","status":"active","uri":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA","scheduled_event":{"name":"15 Minute Meeting","start_time":"{{iso}}","status":"active"}}}`},
	"docusign": {ctype: jsonCT,
		body:    `{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/abc/envelopes/{{uuid}}","retryCount":0,"configurationId":10418491,"generatedDateTime":"{{iso}}","data":{"accountId":"abc","userId":"def","envelopeId":"{{uuid}}"}}`,
		headers: map[string]string{"X-Authorization-Digest": "HMACSHA256", "X-DocuSign-AccountId": "abc"}},
	"dropbox": {ctype: jsonCT,
		body: `{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc","dbid:AAAXOhpRUn2lyOeQE98ovxIQ3MLoryfNqQU"]},"delta":{"users":[12345678,23456789]}}`},
	"postmark": {ctype: jsonCT,
		body: `{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"{{uuid}}","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"{{iso}}","Details":"Test delivery webhook details","Metadata":{"example":"value"}}`},
	"lemonsqueezy": {ctype: jsonCT,
		body:    `{"meta":{"event_name":"order_created","custom_data":{"customer_id":25}},"data":{"type":"orders","id":"1","attributes":{"store_id":1,"customer_id":1,"identifier":"{{uuid}}","order_number":1,"user_name":"Darlene Daugherty","user_email":"gernser@yahoo.com","currency":"USD","status":"paid","total":999,"created_at":"{{iso}}"}}}`,
		headers: map[string]string{"X-Event-Name": "order_created"}},
	"razorpay": {ctype: jsonCT,
		body:    `{"entity":"event","account_id":"acc_BFQ7uQEaa7j2z7","event":"payment.captured","contains":["payment"],"payload":{"payment":{"entity":{"id":"pay_{{id}}","entity":"payment","amount":50000,"currency":"INR","status":"captured","order_id":"order_DBJOWzybf0sJbb","method":"upi","email":"gaurav.kumar@example.com","created_at":{{unix}}}}},"created_at":{{unix}}}`,
		headers: map[string]string{"X-Razorpay-Event-Id": "{{id}}"}},
	"coinbase": {ctype: jsonCT,
		body: `{"id":1,"scheduled_for":"{{iso}}","attempt_number":1,"event":{"id":"{{uuid}}","resource":"event","type":"charge:confirmed","api_version":"2018-03-22","created_at":"{{iso}}","data":{"code":"66BEOV2A","name":"The Sovereign Individual","pricing_type":"fixed_price","pricing":{"local":{"amount":"100.00","currency":"USD"}}}}}`},
	"meta": {ctype: jsonCT,
		body:    `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"{{unix}}","text":{"body":"Does it come in another color?"},"type":"text"}]},"field":"messages"}]}]}`,
		headers: map[string]string{"User-Agent": "facebookexternalua"}},
	"asana": {ctype: jsonCT,
		body:    `{"events":[{"user":{"gid":"1123","resource_type":"user"},"created_at":"{{iso}}","action":"changed","resource":{"gid":"1199","resource_type":"task","resource_subtype":"default_task"},"parent":null,"change":{"field":"completed","action":"changed"}}]}`,
		headers: map[string]string{"User-Agent": "Asana"}},
	"okta": {ctype: jsonCT,
		body: `{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://dev-123456.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3","eventId":"{{uuid}}","data":{"events":[{"uuid":"{{uuid}}","published":"{{iso}}","eventType":"user.session.start","version":"0","displayMessage":"User login to Okta","severity":"INFO","actor":{"id":"00u1qw1mqitPHM8AJ0g7","type":"User","alternateId":"admin@example.com","displayName":"Jane Admin"},"outcome":{"result":"SUCCESS"}}]},"eventTime":"{{iso}}","contentType":"application/json"}`},
	"msgraph": {ctype: jsonCT,
		body: `{"value":[{"id":"lsgTZMr9KwAAA","subscriptionId":"{{uuid}}","subscriptionExpirationDateTime":"{{iso}}","clientState":"","changeType":"created","resource":"Users/{{uuid}}/Messages/AAMkADMxZmE","tenantId":"84bd8158-6d4d-4958-8b9f-9d6445542f95","resourceData":{"@odata.type":"#Microsoft.Graph.Message","@odata.id":"Users/{{uuid}}/Messages/AAMkADMxZmE","id":"AAMkADMxZmE"}}]}`},
	"xero": {ctype: jsonCT,
		body: `{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/{{uuid}}","resourceId":"{{uuid}}","eventDateUtc":"{{iso}}","eventType":"CREATE","eventCategory":"INVOICE","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION"}],"lastEventSequence":1,"firstEventSequence":1,"entropy":"S0m3r4Nd0mt3xt"}`},
	"telegram": {ctype: jsonCT,
		body: `{"update_id":{{unix}},"message":{"message_id":1365,"from":{"id":1111111,"is_bot":false,"first_name":"Test","username":"Test","language_code":"en"},"chat":{"id":1111111,"first_name":"Test","username":"Test","type":"private"},"date":{{unix}},"text":"/start"}}`},
	"notion": {ctype: jsonCT,
		body: `{"id":"{{uuid}}","timestamp":"{{iso}}","workspace_id":"13950b26-c203-4f3b-b97d-93ec06319565","workspace_name":"Quantify Labs","subscription_id":"29d75c0d-5546-4414-8459-7b7a92f1fc4b","integration_id":"0ef2e755-4912-8096-91c1-00376a88a5ca","authors":[{"id":"c7c11cca-1d73-471d-9b6e-bdef51470190","type":"person"}],"attempt_number":1,"entity":{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"},"type":"page.created","data":{"parent":{"id":"13950b26-c203-4f3b-b97d-93ec06319565","type":"space"}}}`},
	"patreon": {ctype: jsonCT,
		body:    `{"data":{"type":"member","id":"{{uuid}}","attributes":{"full_name":"Platypus","patron_status":"active_patron","currently_entitled_amount_cents":500,"pledge_relationship_start":"{{iso}}"},"relationships":{"campaign":{"data":{"type":"campaign","id":"12345"}}}}}`,
		headers: map[string]string{"X-Patreon-Event": "members:pledge:create"}},
	"clerk": {ctype: jsonCT,
		body:    `{"data":{"birthday":"","created_at":{{ms}},"email_addresses":[{"email_address":"example@example.org","id":"idn_29w83yL7CwVlJXylYLxcslromF1","object":"email_address","verification":{"status":"verified","strategy":"ticket"}}],"first_name":"Example","id":"user_29w83sxmDNGwOuEthce5gg56FcC","last_name":"Example","object":"user","primary_email_address_id":"idn_29w83yL7CwVlJXylYLxcslromF1","updated_at":{{ms}}},"event_attributes":{"http_request":{"client_ip":"0.0.0.0","user_agent":"Mozilla/5.0"}},"object":"event","timestamp":{{ms}},"type":"user.created"}`,
		headers: map[string]string{"User-Agent": "Svix-Webhooks/1.40"}},
	"resend": {ctype: jsonCT,
		body:    `{"type":"email.delivered","created_at":"{{iso}}","data":{"created_at":"{{iso}}","email_id":"{{uuid}}","from":"Acme <onboarding@resend.dev>","to":["delivered@resend.dev"],"subject":"Sending this example"}}`,
		headers: map[string]string{"User-Agent": "Svix-Webhooks/1.40"}},
	"workos": {ctype: jsonCT,
		body: `{"id":"event_01H{{id}}","event":"dsync.user.created","data":{"id":"directory_user_01E1X1B89NH8Z3SDFJR4H7RGX7","directory_id":"directory_01ECAZ4NV9QMV47GW873HDCX74","organization_id":"org_01EZTR6WYX1A0DSE2CYMGXQ24Y","idp_id":"8931","first_name":"Lela","last_name":"Block","email":"lela.block@example.com","state":"active","created_at":"{{iso}}","updated_at":"{{iso}}"},"created_at":"{{iso}}"}`},
	"telnyx": {ctype: jsonCT,
		body: `{"data":{"event_type":"message.received","id":"{{uuid}}","occurred_at":"{{iso}}","payload":{"direction":"inbound","from":{"carrier":"T-Mobile USA","line_type":"long_code","phone_number":"+13125550001"},"id":"{{uuid}}","messaging_profile_id":"740572b6-099c-44a1-89b9-6c92163bc68d","text":"Hello from Telnyx!","to":[{"phone_number":"+17735550002","status":"webhook_delivered"}],"type":"SMS"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}`},
	"mandrill": {ctype: "application/x-www-form-urlencoded",
		body:    `mandrill_events=%5B%7B%22event%22%3A%22send%22%2C%22msg%22%3A%7B%22ts%22%3A{{unix}}%2C%22subject%22%3A%22This+an+example+webhook+message%22%2C%22email%22%3A%22example.webhook%40mandrillapp.com%22%2C%22sender%22%3A%22example.sender%40mandrillapp.com%22%2C%22tags%22%3A%5B%22webhook-example%22%5D%2C%22state%22%3A%22sent%22%2C%22_id%22%3A%22exampleaaaaaaaaaaaaaaaaaaaaaaaaa%22%7D%2C%22_id%22%3A%22exampleaaaaaaaaaaaaaaaaaaaaaaaaa%22%2C%22ts%22%3A{{unix}}%7D%5D`,
		headers: map[string]string{"User-Agent": "Mandrill-Webhook/1.0"}},
	"braintree": {ctype: "application/x-www-form-urlencoded",
		// The notification XML; Sign wraps it in bt_payload (base64) and bt_signature.
		body: `<notification><timestamp type="datetime">{{iso}}</timestamp><kind>subscription_charged_successfully</kind><subject><subscription><id>{{id}}</id><status>Active</status><transactions type="array"><transaction><id>{{id}}</id><amount>49.99</amount><status>submitted_for_settlement</status></transaction></transactions></subscription></subject></notification>`},
	"adyen": {ctype: jsonCT,
		body: `{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{"authCode":"058705","cardSummary":"1111","expiryDate":"03/2030"},"amount":{"currency":"EUR","value":1130},"eventCode":"AUTHORISATION","eventDate":"{{iso}}","merchantAccountCode":"TestMerchant","merchantReference":"TestPayment-{{unix}}","operations":["CANCEL","CAPTURE","REFUND"],"paymentMethod":"visa","pspReference":"{{id}}","success":"true"}}]}`},
	"paypal": {ctype: jsonCT,
		body:    `{"id":"WH-{{id}}","event_version":"1.0","create_time":"{{iso}}","resource_type":"capture","resource_version":"2.0","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed for $ 7.47 USD","resource":{"id":"0KG12345VG343800K","status":"COMPLETED","amount":{"currency_code":"USD","value":"7.47"},"final_capture":true,"seller_protection":{"status":"ELIGIBLE"},"create_time":"{{iso}}","update_time":"{{iso}}"},"links":[{"href":"https://api.paypal.com/v1/notifications/webhooks-events/WH-{{id}}","rel":"self","method":"GET"}]}`,
		headers: map[string]string{"User-Agent": "PayPal/AUHD-214.0-58842349", "Correlation-Id": "{{id}}"}},
	"aws-sns": {ctype: "text/plain; charset=UTF-8",
		body:    `{"Type":"Notification","MessageId":"{{uuid}}","TopicArn":"arn:aws:sns:us-east-1:123456789012:MyTopic","Subject":"My First Message","Message":"Hello world!","Timestamp":"{{iso}}","UnsubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"}`,
		headers: map[string]string{"User-Agent": "Amazon Simple Notification Service Agent"}},
	"google-pubsub": {ctype: jsonCT,
		body:    `{"message":{"attributes":{"key":"value"},"data":"eyJ2ZXJzaW9uIjoiMS4wIiwicGFja2FnZU5hbWUiOiJjb20uZXhhbXBsZSIsImV2ZW50VGltZU1pbGxpcyI6IjE1MDMzNDk1NjYxNjgiLCJzdWJzY3JpcHRpb25Ob3RpZmljYXRpb24iOnsidmVyc2lvbiI6IjEuMCIsIm5vdGlmaWNhdGlvblR5cGUiOjQsInB1cmNoYXNlVG9rZW4iOiJQVVJDSEFTRV9UT0tFTiIsInN1YnNjcmlwdGlvbklkIjoibW9udGhseTAwMSJ9fQ==","messageId":"2070443601311540","message_id":"2070443601311540","publishTime":"{{iso}}","publish_time":"{{iso}}"},"subscription":"projects/myproject/subscriptions/mysubscription"}`,
		headers: map[string]string{"User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"}},
	"apple-app-store": {ctype: jsonCT,
		// The decoded claims; Sign wraps them in {"signedPayload": JWS}.
		body: `{"notificationType":"SUBSCRIBED","subtype":"INITIAL_BUY","notificationUUID":"{{uuid}}","data":{"appAppleId":1234567890,"bundleId":"com.example.tailhook","bundleVersion":"42","environment":"Sandbox","status":1},"version":"2.0"}`},
	"plaid": {ctype: jsonCT,
		body: `{"webhook_type":"TRANSACTIONS","webhook_code":"SYNC_UPDATES_AVAILABLE","item_id":"wz666MBjYWTp2PDzzggYhM6oWWmBb","initial_update_complete":true,"historical_update_complete":false,"environment":"sandbox"}`},
	"hmac": {ctype: jsonCT,
		body: `{"event":"sample.created","id":"{{id}}","created_at":"{{iso}}","data":{"message":"hello from tailhook"}}`},
}

// Sample returns a realistic sample event of provider, signed with p exactly
// as Sign would sign it, with timestamps taken from now. Its Path is "/" +
// provider. Providers that sign the URL (twilio, square, hubspot) need
// p["url"]: the public URL the sample will be delivered to, Path included.
// Asymmetric providers need p["private_key"] (see Sign).
func Sample(provider string, p Params, now time.Time) (SampleEvent, error) {
	def, ok := samples[provider]
	if _, known := byID[provider]; !ok || !known {
		return SampleEvent{}, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	seed := sha256.Sum256([]byte(provider + strconv.FormatInt(now.UnixNano(), 10)))
	id := hex.EncodeToString(seed[:8])
	u := hex.EncodeToString(seed[8:24])
	uuid := u[0:8] + "-" + u[8:12] + "-4" + u[13:16] + "-a" + u[17:20] + "-" + u[20:32]
	rep := strings.NewReplacer("{{unix}}", strconv.FormatInt(now.Unix(), 10), "{{ms}}", strconv.FormatInt(now.UnixMilli(), 10),
		"{{iso}}", now.UTC().Format(time.RFC3339), "{{id}}", id, "{{uuid}}", uuid)
	method := def.method
	if method == "" {
		method = http.MethodPost
	}
	h := http.Header{}
	h.Set("Content-Type", def.ctype)
	for k, v := range def.headers {
		h.Set(k, rep.Replace(v))
	}
	in := Input{Method: method, URL: p["url"], Header: h, Body: []byte(rep.Replace(def.body)), Now: now}
	sh, body, err := Sign(provider, p, in)
	if err != nil {
		return SampleEvent{}, err
	}
	for k, vs := range sh {
		h[k] = vs
	}
	return SampleEvent{Method: method, Path: "/" + provider, Header: h, Body: body}, nil
}
