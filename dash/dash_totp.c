/*
 * dash_totp.c - the second factor: TOTP (RFC 6238) enrolment, checks and
 * the QR code of a new secret
 *
 * Purpose: POST /v1/me/totp (a new secret and its enrolment ticket),
 * POST /v1/me/totp/verify (store it once a code proves it), GET
 * /v1/me/totp/qr (its otpauth URI as a PNG); dash_totp_check and
 * dash_totp_code for the Basic login (dash_session.c).
 *
 * Interface: six digits, 30 s steps, SHA-1, one step of drift either
 * way; codes come in the X-TOTP header or a "totp" field of the body.
 * An enrolment ticket (totp_ticket) carries the proof given at enrolment
 * to verify, signed with secret_key_file, and dies after TOTP_TICKET_TTL
 * or as soon as the present secret changes.
 *
 * Failure: a wrong or missing code answers 401 with errno 109; a secret
 * that is not base32 of sane length 400; liboath, libqrencode or libpng
 * failing 500.  Codes are compared in constant time.
 *
 * Ownership: nothing is kept between requests; every buffer made here is
 * freed here (the PNG after it is copied into the response).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liboath/oath.h>
#include <png.h>
#include <qrencode.h>

#include "dash.h"
#include "token.h"
#include "util.h"

#define TOTP_DIGITS	6
#define TOTP_STEP	30
#define TOTP_TICKET_TTL	600	/* seconds from enrolment to verify */

/* dash_totp_init - liboath's global state, once at startup */
void
dash_totp_init(void)
{
	oath_init();
}

/* totp_cmp - liboath's comparison callback: 0 when the candidate code
 * equals the one sent, compared in constant time */
static int
totp_cmp(void *sent, const char *candidate)
{
	return (ct_equal(sent, strlen(sent), candidate, strlen(candidate)) ?
	    0 : 1);
}

/* dash_totp_check - 1 if code is valid now (one step of drift) for
 * secret */
int
dash_totp_check(const char *secret32, const char *code)
{
	char	*raw = NULL;
	size_t	 rawlen = 0;
	int	 rc;

	if (code == NULL || strlen(code) != TOTP_DIGITS ||
	    strspn(code, "0123456789") != TOTP_DIGITS)
		return (0);
	if (oath_base32_decode(secret32, strlen(secret32), &raw, &rawlen) !=
	    OATH_OK)
		return (0);
	rc = oath_totp_validate_callback(raw, rawlen, time(NULL), TOTP_STEP,
	    0, TOTP_DIGITS, 1, totp_cmp, (void *)code);
	free(raw);
	return (rc >= 0);
}

/* dash_totp_code - the TOTP code of a request: X-TOTP header or "totp"
 * field (borrowed from r or body) */
const char *
dash_totp_code(struct req *r, json_t *body)
{
	const char *c = dash_header(r, "X-TOTP");

	if (c == NULL && body != NULL)
		c = json_string_value(json_object_get(body, "totp"));
	return (c);
}

/* otpauth_uri - the Key URI Format string for secret (new) */
static char *
otpauth_uri(const char *email, const char *secret)
{
	char	 enc[3 * EMAIL_MAX + 1], *o = enc, *uri;
	const char *p;
	size_t	 n;

	for (p = email; *p; p++) {
		if (isalnum((unsigned char)*p) || strchr(".-_", *p) != NULL)
			*o++ = *p;
		else
			o += sprintf(o, "%%%02X", (unsigned char)*p);
	}
	*o = '\0';
	n = strlen(enc) + strlen(secret) + 128;
	uri = xmalloc(n);
	snprintf(uri, n, "otpauth://totp/BIPostal:%s?secret=%s&issuer=BIPostal"
	    "&algorithm=SHA1&digits=%d&period=%d", enc, secret, TOTP_DIGITS,
	    TOTP_STEP);
	return (uri);
}

/* secret_ok - a base32 TOTP secret of sane length */
static int
secret_ok(const char *s)
{
	size_t len;

	if (s == NULL)
		return (0);
	len = strlen(s);
	return (len >= 16 && len <= TOTP_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == len);
}

/*
 * totp_ticket - the enrolment ticket of secret for u, valid until exp:
 *	EXP "." base64url HMAC-SHA256(secret_key, "totp-enrol:" id ":"
 *	    new secret ":" present secret ":" EXP)
 * It carries the proof given at enrolment (the present code) to verify;
 * it dies with its expiry and as soon as the present secret changes.
 */
static void
totp_ticket(const struct user *u, const char *secret, long long exp,
    char *out, size_t size)
{
	char	msg[64 + 2 * TOTP_MAX + 64], mac[64];
	int	n;

	n = snprintf(msg, sizeof(msg), "totp-enrol:%lld:%s:%s:%lld",
	    (long long)u->id, secret, u->totp, exp);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	dash_hs256(msg, (size_t)n, mac, sizeof(mac));
	snprintf(out, size, "%lld.%s", exp, mac);
}

/* ticket_ok - 1 if ticket is a live enrolment ticket of secret for u */
static int
ticket_ok(const struct user *u, const char *secret, const char *ticket)
{
	char		 want[128], *end;
	long long	 exp;

	if (ticket == NULL || strlen(ticket) >= sizeof(want))
		return (0);
	exp = strtoll(ticket, &end, 10);
	if (end == ticket || *end != '.' || exp < bp_now())
		return (0);
	totp_ticket(u, secret, exp, want, sizeof(want));
	return (ct_equal(ticket, strlen(ticket), want, strlen(want)));
}

/*
 * dash_h_totp_enrol - POST /v1/me/totp: a fresh secret, its otpauth URI,
 * the address of its QR code and its enrolment ticket.  Nothing is stored
 * until verify; replacing an enrolled secret needs a current code here
 * (X-TOTP or "totp"), which the ticket then stands for at verify.
 */
void
dash_h_totp_enrol(struct req *r, const char *arg)
{
	unsigned char	 raw[20];
	char		*b32 = NULL, *uri, qr[128], ticket[128];
	size_t		 len = 0;
	json_t		*b = NULL;

	if (r->user.totp[0] != '\0') {
		if (r->len > 0 && (b = dash_body_json(r)) == NULL)
			return;
		if (!dash_totp_check(r->user.totp, dash_totp_code(r, b))) {
			json_decref(b);
			dash_error(r, 401, DASH_E_TOTP,
			    "already enrolled: a current TOTP code is required");
			return;
		}
		json_decref(b);
	}
	if (token_random_bytes(raw, sizeof(raw)) < 0 ||
	    oath_base32_encode((char *)raw, sizeof(raw), &b32, &len) !=
	    OATH_OK) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot make a secret");
		return;
	}
	while (len > 0 && b32[len - 1] == '=')
		b32[--len] = '\0';
	uri = otpauth_uri(r->user.email, b32);
	snprintf(qr, sizeof(qr), "/v1/me/totp/qr?secret=%s", b32);
	totp_ticket(&r->user, b32, (long long)(bp_now() + TOTP_TICKET_TTL),
	    ticket, sizeof(ticket));
	dash_reply_json(r, 201, json_pack("{s:s,s:s,s:s,s:s}", "secret", b32,
	    "uri", uri, "qr", qr, "ticket", ticket));
	free(uri);
	free(b32);
}

/*
 * dash_h_totp_verify - POST /v1/me/totp/verify {secret, code, ticket?,
 * totp?}: store secret once code proves it.  A user already enrolled
 * must also prove the present secret, by the ticket of an enrolment that
 * was given a current code or by a current code here (X-TOTP or "totp"),
 * so a stolen bearer token cannot replace the second factor.
 */
void
dash_h_totp_verify(struct req *r, const char *arg)
{
	json_t		*b;
	const char	*secret, *code;
	struct user	 u = r->user;

	if ((b = dash_body_json(r)) == NULL)
		return;
	secret = json_string_value(json_object_get(b, "secret"));
	code = json_string_value(json_object_get(b, "code"));
	if (!secret_ok(secret) || code == NULL) {
		dash_error(r, 400, DASH_E_PARAM,
		    "secret (base32) and code are required");
	} else if (u.totp[0] != '\0' && !ticket_ok(&u, secret,
	    json_string_value(json_object_get(b, "ticket"))) &&
	    !dash_totp_check(u.totp, dash_totp_code(r, b))) {
		dash_metrics_inc("auth_failures");
		dash_error(r, 401, DASH_E_TOTP, "already enrolled: the ticket "
		    "of the enrolment or a current TOTP code is required");
	} else if (!dash_totp_check(secret, code)) {
		dash_error(r, 401, DASH_E_TOTP, "wrong TOTP code");
	} else {
		bp_strlcpy(u.totp, secret, sizeof(u.totp));
		if (dash_store_status(r, store_user_update(r->db->st, &u),
		    "user") == 0) {
			r->user = u;
			dash_reply_json(r, 200, dash_user_json(&u));
		}
	}
	json_decref(b);
}

/* a PNG being written into memory (libpng's write callback) */
struct pngbuf {
	unsigned char	*data;
	size_t		 len, cap;
};

/* png_write_mem - libpng write callback into a growing buffer */
static void
png_write_mem(png_structp p, png_bytep data, png_size_t len)
{
	struct pngbuf *b = png_get_io_ptr(p);

	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = xrealloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* png_flush_mem - nothing to flush */
static void
png_flush_mem(png_structp p)
{
}

/* qr_png - the QR code of text as a PNG (new in *out); 0 or -1 */
static int
qr_png(const char *text, unsigned char **out, size_t *outlen)
{
	enum { SCALE = 6, MARGIN = 4 };
	QRcode		*q;
	png_structp	 p;
	png_infop	 info;
	struct pngbuf	 b = {NULL, 0, 0};
	unsigned char	*row = NULL;
	int		 size, x, y;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return (-1);
	size = (q->width + 2 * MARGIN) * SCALE;
	p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = p ? png_create_info_struct(p) : NULL;
	if (p == NULL || info == NULL || setjmp(png_jmpbuf(p))) {
		png_destroy_write_struct(&p, &info);
		QRcode_free(q);
		free(row);
		free(b.data);
		return (-1);
	}
	png_set_write_fn(p, &b, png_write_mem, png_flush_mem);
	png_set_IHDR(p, info, (png_uint_32)size, (png_uint_32)size, 8,
	    PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(p, info);
	row = xmalloc((size_t)size);
	for (y = 0; y < size; y++) {
		int my = y / SCALE - MARGIN;

		for (x = 0; x < size; x++) {
			int mx = x / SCALE - MARGIN, dark = 0;

			if (mx >= 0 && my >= 0 && mx < q->width &&
			    my < q->width)
				dark = q->data[my * q->width + mx] & 1;
			row[x] = dark ? 0 : 255;
		}
		png_write_row(p, row);
	}
	png_write_end(p, NULL);
	png_destroy_write_struct(&p, &info);
	QRcode_free(q);
	free(row);
	*out = b.data;
	*outlen = b.len;
	return (0);
}

/* dash_h_totp_qr - GET /v1/me/totp/qr?secret=...: the QR code PNG */
void
dash_h_totp_qr(struct req *r, const char *arg)
{
	const char	*secret = dash_arg(r, "secret");
	unsigned char	*png;
	size_t		 len;
	char		*uri;
	int		 rc;

	if (!secret_ok(secret)) {
		dash_error(r, 400, DASH_E_PARAM, "secret: base32 is required");
		return;
	}
	uri = otpauth_uri(r->user.email, secret);
	rc = qr_png(uri, &png, &len);
	free(uri);
	if (rc < 0) {
		dash_error(r, 500, DASH_E_INTERNAL, "cannot draw the QR code");
		return;
	}
	dash_reply_raw(r, 200, "image/png", png, len, 1);
	free(png);
}
