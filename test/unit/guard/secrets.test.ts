import { strict as assert } from "node:assert";
import { findSecrets, findSecretsInText } from "../../../sidecar/guard/secrets";
import type { SecretFinding, SecretKind } from "../../../sidecar/guard/secrets";

// Fake credentials are assembled from pieces so this file does not itself look
// like a leaked secret to repository scanners.
const AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"; // AWS documentation example
const AWS_SECRET = "wJalrXUtnFEMI/" + "K7MDENG/" + "bPxRfiCYEXAMPLEKEY"; // AWS documentation example
const PRIVATE_KEY =
  "-----BEGIN " + "RSA PRIVATE KEY-----\n" + "MIIEow".repeat(10) + "\n-----END " + "RSA PRIVATE KEY-----\n";
const GITHUB_CLASSIC = "ghp_" + "a".repeat(36);
const GITHUB_FINE_GRAINED = "github_" + "pat_" + "11AB2CD3E4".repeat(8) + "x_";
const GITLAB = "glpat-" + "x1Y2z3".repeat(4);
const SLACK = "xox" + "b-" + "1234567890-" + "abcdefABCDEF";
const STRIPE = "sk_" + "live_" + "A1b2C3d4".repeat(3);
const OPENAI_PROJECT = "sk-" + "proj-" + "Ab3_".repeat(10);
const OPENAI_LEGACY = "sk-" + "T3Blbk".repeat(4) + "9Xz";
const ANTHROPIC = "sk-" + "ant-" + "api03-" + "Xy9_".repeat(8);
const GOOGLE = "AI" + "za" + "Sy" + "B1c2D3e4F5".repeat(3) + "abc";
const NPM = "npm_" + "Ab1".repeat(12);
const PYPI = "pypi-" + "AgEIcHlwaS5vcmc" + "Q1w2E3r4".repeat(8);
const JWT =
  "ey" + "JhbGciOiJIUzI1NiJ9" + "." + "ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0" + "." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
const PASSWORD = "hunter2-" + "Sup3r!";

function kinds(findings: ReadonlyArray<{ kind: SecretKind }>): SecretKind[] {
  return findings.map((f) => f.kind);
}

function assertNoLeak(findings: readonly SecretFinding[], secret: string): void {
  for (const f of findings) {
    const json = JSON.stringify(f);
    assert.ok(!json.includes(secret), `finding leaks the secret: ${f.kind} at ${f.path}`);
    // Not even a partial preview.
    assert.ok(!json.includes(secret.slice(0, 12)), `finding leaks a secret prefix: ${f.kind}`);
    assert.ok(!json.includes(secret.slice(-8)), `finding leaks a secret suffix: ${f.kind}`);
    assert.deepEqual(Object.keys(f).sort(), ["kind", "label", "path"]);
  }
}

/** Deterministic pseudo-random bytes (no flaky tests). */
function pseudoRandomBytes(n: number, seed = 42): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("guard/secrets", () => {
  describe("positive detection for every kind", () => {
    const cases: Array<[SecretKind, string, string]> = [
      ["aws_access_key_id", AWS_KEY_ID, `aws configure set aws_access_key_id ${AWS_KEY_ID}`],
      ["private_key_block", PRIVATE_KEY, `cat > id_rsa <<EOF\n${PRIVATE_KEY}EOF`],
      ["github_token", GITHUB_CLASSIC, `git clone https://x:${GITHUB_CLASSIC}@github.com/o/r.git`],
      ["github_token", GITHUB_FINE_GRAINED, `gh auth login --with-token ${GITHUB_FINE_GRAINED}`],
      ["gitlab_token", GITLAB, `curl -H "PRIVATE-TOKEN: ${GITLAB}" https://gitlab.com/api/v4/user`],
      ["slack_token", SLACK, `curl -H 'Authorization: Bearer ${SLACK}' https://slack.com/api/auth.test`],
      ["stripe_live_key", STRIPE, `curl https://api.stripe.com/v1/charges -u ${STRIPE}:`],
      ["openai_api_key", OPENAI_PROJECT, `OPENAI_API_KEY=${OPENAI_PROJECT} python app.py`],
      ["openai_api_key", OPENAI_LEGACY, `client = OpenAI(api_key="${OPENAI_LEGACY}")`],
      ["anthropic_api_key", ANTHROPIC, `export ANTHROPIC_API_KEY=${ANTHROPIC}`],
      ["google_api_key", GOOGLE, `https://maps.googleapis.com/maps/api/geocode/json?key=${GOOGLE}`],
      ["npm_token", NPM, `echo "//registry.npmjs.org/:_authToken=${NPM}" > .npmrc`],
      ["pypi_token", PYPI, `twine upload -u __token__ -p ${PYPI} dist/*`],
      ["jwt", JWT, `curl -H "Authorization: Bearer ${JWT}" https://api.example.org/me`],
    ];

    for (const [kind, token, command] of cases) {
      it(`${kind}: detected as a JSON value and in shell text (${token.slice(0, 4)}…)`, () => {
        const findings = findSecrets({ input: token });
        assert.ok(kinds(findings).includes(kind), `expected ${kind}, got ${JSON.stringify(kinds(findings))}`);
        assert.ok(findings.every((f) => f.path === "$.input"));
        assertNoLeak(findings, token);

        const text = findSecretsInText(command);
        assert.ok(kinds(text).includes(kind), `text: expected ${kind}, got ${JSON.stringify(kinds(text))}`);
        assert.ok(!JSON.stringify(text).includes(token));
      });
    }

    it("every label is a non-empty fixed string", () => {
      const all = [
        ...findSecrets({ a: AWS_KEY_ID, b: GITHUB_CLASSIC, c: JWT, password: PASSWORD }),
        ...findSecrets({ AWS_SECRET_ACCESS_KEY: AWS_SECRET }),
      ];
      const byKind = new Map(all.map((f) => [f.kind, f.label]));
      assert.equal(byKind.get("aws_access_key_id"), "AWS access key ID");
      assert.equal(byKind.get("github_token"), "GitHub token");
      assert.equal(byKind.get("jwt"), "JSON Web Token");
      assert.equal(byKind.get("aws_secret_access_key"), "AWS secret access key");
      assert.equal(byKind.get("generic_credential_assignment"), "credential assignment");
    });

    it("aws_secret_access_key: by JSON key name (several spellings)", () => {
      for (const key of ["AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", "secretAccessKey", "SecretAccessKey"]) {
        const findings = findSecrets({ credentials: { [key]: AWS_SECRET } });
        assert.deepEqual(kinds(findings), ["aws_secret_access_key"], key);
        assertNoLeak(findings, AWS_SECRET);
      }
    });

    it("aws_secret_access_key: by preceding assignment in text", () => {
      assert.deepEqual(kinds(findSecretsInText(`export AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`)), [
        "aws_secret_access_key",
      ]);
      assert.deepEqual(kinds(findSecretsInText(`[default]\naws_secret_access_key = ${AWS_SECRET}\n`)), [
        "aws_secret_access_key",
      ]);
      // Credentials file written through a tool: key id and secret both found.
      const file = `[default]\naws_access_key_id = ${AWS_KEY_ID}\naws_secret_access_key = ${AWS_SECRET}\n`;
      const findings = findSecrets({ path: "~/.aws/credentials", content: file });
      assert.deepEqual(kinds(findings), ["aws_access_key_id", "aws_secret_access_key"]);
      assert.ok(findings.every((f) => f.path === "$.content"));
    });

    it("generic_credential_assignment: credential-named properties", () => {
      for (const key of ["password", "DB_PASSWORD", "passwd", "client_secret", "apiKey", "api-key", "access_token", "authToken", "private_key"]) {
        const findings = findSecrets({ config: { [key]: PASSWORD } });
        assert.deepEqual(kinds(findings), ["generic_credential_assignment"], key);
        assertNoLeak(findings, PASSWORD);
      }
    });

    it("generic_credential_assignment: free-text assignments", () => {
      for (const text of [
        `DB_PASSWORD=${PASSWORD} npm start`,
        `mysql --host db -e "..." # password: ${PASSWORD}`,
        `echo 'api_key = "${PASSWORD}"' >> settings.ini`,
        `{"token": "${PASSWORD}"}`,
        `secret := "${PASSWORD}"`,
      ]) {
        assert.deepEqual(kinds(findSecretsInText(text)), ["generic_credential_assignment"], text);
      }
    });

    it("generic_credential_assignment: name/value env entries (k8s / ECS style)", () => {
      const findings = findSecrets({
        containers: [{ env: [{ name: "LOG_LEVEL", value: "debug-verbose" }, { name: "DB_PASSWORD", value: PASSWORD }] }],
      });
      assert.deepEqual(findings, [
        { kind: "generic_credential_assignment", path: "$.containers[0].env[1].value", label: "credential assignment" },
      ]);
    });

    it("array elements inherit the credential-named property", () => {
      const findings = findSecrets({ api_keys: ["first-key-1234", "second-key-5678"] });
      assert.deepEqual(
        findings.map((f) => f.path),
        ["$.api_keys[0]", "$.api_keys[1]"],
      );
    });
  });

  describe("paths", () => {
    it("reports nested object and array paths", () => {
      const findings = findSecrets({
        env: { AWS_ACCESS_KEY_ID: AWS_KEY_ID, HOME: "/home/me" },
        files: [
          { path: "README.md", content: "# hello world, nothing to see here" },
          { path: "deploy.sh", content: `#!/bin/sh\ncurl -H "Authorization: token ${GITHUB_CLASSIC}" https://api.github.com` },
        ],
      });
      assert.deepEqual(findings, [
        { kind: "aws_access_key_id", path: "$.env.AWS_ACCESS_KEY_ID", label: "AWS access key ID" },
        { kind: "github_token", path: "$.files[1].content", label: "GitHub token" },
      ]);
    });

    it("uses bracket notation for non-identifier keys and $ for the root", () => {
      assert.deepEqual(
        findSecrets({ "weird key": { "x-api": JWT } }).map((f) => f.path),
        ['$["weird key"]["x-api"]'],
      );
      assert.deepEqual(
        findSecrets(GITHUB_CLASSIC).map((f) => f.path),
        ["$"],
      );
      assert.deepEqual(
        findSecrets([1, [2, GITHUB_CLASSIC]]).map((f) => f.path),
        ["$[1][1]"],
      );
      assert.deepEqual(
        findSecrets({ 'a"b': GITHUB_CLASSIC }).map((f) => f.path),
        ['$["a\\"b"]'],
      );
    });

    it("redacts object keys that themselves look like secrets", () => {
      const findings = findSecrets({ [GITHUB_CLASSIC]: { token: JWT } });
      assert.deepEqual(kinds(findings), ["jwt"]);
      assertNoLeak(findings, GITHUB_CLASSIC);
      assertNoLeak(findings, JWT);
    });

    it("does not scan keys, only values", () => {
      assert.deepEqual(findSecrets({ [GITHUB_CLASSIC]: 1, [AWS_KEY_ID]: true }), []);
    });

    it("never contains the secret value in any finding", () => {
      const all = [AWS_KEY_ID, PRIVATE_KEY, GITHUB_CLASSIC, GITLAB, SLACK, STRIPE, OPENAI_PROJECT, ANTHROPIC, GOOGLE, NPM, PYPI, JWT];
      const findings = findSecrets({ items: all, AWS_SECRET_ACCESS_KEY: AWS_SECRET, password: PASSWORD }, { limit: 100 });
      assert.equal(findings.length, all.length + 2);
      for (const secret of [...all, AWS_SECRET, PASSWORD]) assertNoLeak(findings, secret);
    });
  });

  describe("negatives", () => {
    const negatives: Array<[string, unknown]> = [
      ["prose", { message: "Please reset your password and keep your secret safe. The token expires in 3600 seconds." }],
      [
        "code",
        {
          content: [
            "const apiKey = process.env.OPENAI_API_KEY;",
            "const token = await getToken();",
            "password = request.form['password']",
            "def login(username, password=None):",
            "let token: Option<String> = None;",
            "if (pem.includes('-----BEGIN CERTIFICATE-----')) return;",
            "for (const task of tasks) { disk.sk = 1; }",
            "secret = settings.SECRET_KEY",
          ].join("\n"),
        },
      ],
      ["UUIDs", { id: "123e4567-e89b-12d3-a456-426614174000", requestId: "f47ac10b-58cc-4372-a567-0e02b2c3d479" }],
      ["git SHAs (40 hex) without an AWS key name", { commit: "9fceb02d0ae598e95dc970b74767f19372d61af8", parents: ["e83c5163316f89bfbde7d9ab23ca2e25604af290"] }],
      ["40-char base64 without an AWS key name", { value: AWS_SECRET, text: `checksum ${AWS_SECRET}` }],
      ["base64 image", { image: "data:image/png;base64," + pseudoRandomBytes(48 * 1024).toString("base64") }],
      ["base64url blob", { blob: pseudoRandomBytes(16 * 1024, 7).toString("base64url") }],
      ["env placeholder", { password: "${DB_PASSWORD}", command: 'psql --password: "${DB_PASSWORD}"' }],
      ["changeme", { password: "changeme", config: '{"password": "changeme"}' }],
      [
        "other placeholders",
        {
          password: "<your-password>",
          api_key: "your-api-key-here",
          secret: "********",
          token: "xxxxxxxxxxxx",
          access_token: "REDACTED_TOKEN",
          client_secret: "example-secret",
          auth_token: "aaaaaaaaaaaa",
          apiKey: "{{ secrets.API_KEY }}",
          passwd: "$DB_PASSWORD",
        },
      ],
      ["credential metadata keys", { secretName: "db-credentials", private_key_path: "/home/me/.ssh/id_ed25519", passwordPolicy: "min-length-12", apiKeyId: "key-1234567" }],
      ["credential key with short or non-string value", { password: "short", secret: true, token: 12345678901234, api_key: null }],
      ["credential key with prose value", { password_help: "Use at least 12 characters", secret: "the value lives in the vault" }],
      ["sk- followed by short text", { text: "sk-short sk-abc sk-12345 task-runner-loading-spinner-wrapper" }],
      ["sk- hyphenated slug", { className: "sk-loading-spinner-container-wrapper" }],
      ["pagination cursors", { query: "nextPageToken=CAESBggDEAAY9 page_token=CAESBggDEAAY9" }],
      ["public key and certificate", { content: "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----" }],
      ["ghp_ with wrong length", { text: "ghp_" + "a".repeat(20) + " ghp_" + "a".repeat(40) }],
    ];

    for (const [name, value] of negatives) {
      it(`not flagged: ${name}`, () => {
        assert.deepEqual(findSecrets(value), []);
        for (const s of Object.values(value as Record<string, unknown>)) {
          if (typeof s === "string") assert.deepEqual(findSecretsInText(s), [], s.slice(0, 60));
        }
      });
    }

    it("git SHA under an AWS-secret key name is still only flagged via the key", () => {
      assert.deepEqual(kinds(findSecrets({ aws_secret_access_key: "9fceb02d0ae598e95dc970b74767f19372d61af8" })), [
        "aws_secret_access_key",
      ]);
    });

    it("the anthropic prefix is not reported as an OpenAI key", () => {
      assert.deepEqual(kinds(findSecretsInText(ANTHROPIC)), ["anthropic_api_key"]);
    });
  });

  describe("limits and hostile input", () => {
    it("respects limit (default 16)", () => {
      const many = Array.from({ length: 40 }, () => GITHUB_CLASSIC);
      assert.equal(findSecrets(many).length, 16);
      assert.equal(findSecrets(many, { limit: 3 }).length, 3);
      assert.deepEqual(findSecrets(many, { limit: 0 }), []);
      assert.equal(findSecrets(many, { limit: 100 }).length, 40);
    });

    it("respects maxBytes of scanned string data", () => {
      const filler = "lorem ipsum ".repeat(100); // 1200 chars
      const value = { a: filler, b: GITHUB_CLASSIC };
      assert.equal(findSecrets(value).length, 1);
      assert.deepEqual(findSecrets(value, { maxBytes: 1000 }), []);
      assert.deepEqual(findSecrets(value, { maxBytes: 1200 }), []);
      assert.equal(findSecrets(value, { maxBytes: 1200 + GITHUB_CLASSIC.length }).length, 1);
      // Default budget is 256 KiB: a secret after 300 KB of text is not reached.
      assert.deepEqual(findSecrets({ big: "x ".repeat(150_000), after: GITHUB_CLASSIC }), []);
    });

    it("stops at depth 32 and survives depth-1000 nesting", () => {
      let deep: unknown = GITHUB_CLASSIC;
      for (let i = 0; i < 1000; i++) deep = { n: deep };
      assert.deepEqual(findSecrets(deep), []);
      let arr: unknown = GITHUB_CLASSIC;
      for (let i = 0; i < 1000; i++) arr = [arr];
      assert.deepEqual(findSecrets(arr), []);

      let shallow: unknown = GITHUB_CLASSIC;
      for (let i = 0; i < 10; i++) shallow = { n: shallow };
      assert.deepEqual(findSecrets(shallow).map((f) => f.path), ["$" + ".n".repeat(10)]);
    });

    it("does not throw on non-JSON inputs", () => {
      for (const v of [undefined, null, 0, 42, NaN, true, Symbol("s"), 10n, () => GITHUB_CLASSIC, new Date(), new Map([["k", GITHUB_CLASSIC]])]) {
        assert.deepEqual(findSecrets(v), []);
      }
      assert.deepEqual(findSecrets({ a: undefined, b: 1, c: [null, false] }), []);
      assert.deepEqual(findSecretsInText(undefined as unknown as string), []);
      assert.deepEqual(findSecretsInText(""), []);
    });

    it("handles cyclic and shared objects", () => {
      const cyclic: Record<string, unknown> = { token: GITHUB_CLASSIC };
      cyclic["self"] = cyclic;
      cyclic["list"] = [cyclic, cyclic];
      assert.deepEqual(findSecrets(cyclic).map((f) => f.path), ["$.token"]);

      // Exponential fan-out through shared references stays bounded.
      let fan: Record<string, unknown> = { leaf: "nothing here" };
      for (let i = 0; i < 40; i++) fan = { a: fan, b: fan };
      assert.deepEqual(findSecrets(fan), []);
    });

    it("does not throw on hostile objects", () => {
      const throwing = {
        get boom(): string {
          throw new Error("getter");
        },
      };
      assert.deepEqual(findSecrets({ ok: GITHUB_CLASSIC, bad: throwing }).map((f) => f.path), ["$.ok"]);
      const revocable = Proxy.revocable({}, {});
      revocable.revoke();
      assert.deepEqual(findSecrets({ p: revocable.proxy }), []);
      assert.deepEqual(findSecrets({}, { limit: NaN, maxBytes: -5 }), []);
      assert.deepEqual(findSecrets({ a: GITHUB_CLASSIC }, { limit: Infinity, maxBytes: Infinity }).length, 1);
    });

    it("ignores typed arrays and buffers", () => {
      assert.deepEqual(findSecrets({ buf: Buffer.from(GITHUB_CLASSIC) }), []);
    });
  });
});

describe("findSecrets at any depth a request may have", () => {
  it("finds a credential nested 60 levels deep (requests may nest 64)", () => {
    let value: unknown = { note: GITHUB_CLASSIC };
    assert.deepEqual(kinds(findSecrets(value)), ["github_token"]);
    for (let i = 0; i < 59; i++) value = { a: value };
    assert.deepEqual(kinds(findSecrets(value)), ["github_token"]);
  });
});
