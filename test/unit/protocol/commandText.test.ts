import { strict as assert } from "node:assert";
import { commandRegex, normalizeCommand } from "../../../sidecar/protocol/commandText";

/** "The same command" for a session grant and an "Always allow…" rule: unquoted whitespace folds, nothing else. */
describe("command text: normalized for grants, a regex for proposed rules", () => {
  const same = ["npm   test\t-- --grep 'a  b'", "  npm test -- --grep 'a  b'  ", "npm test \\\n  -- --grep 'a  b'"];
  const different = ["npm test -- --grep 'a b'", "npm test -- --grep 'a  b' > /etc/passwd", "npm test -- --grep 'a  b'; rm -rf /", "npm  test", "npm test -- --grep \"a  b\""];

  it("folds unquoted whitespace and line continuations, keeps quoted text, operators and redirections", () => {
    for (const s of same) assert.equal(normalizeCommand(s), "npm test -- --grep 'a  b'");
    for (const d of different) assert.notEqual(normalizeCommand(d), "npm test -- --grep 'a  b'");
    assert.equal(normalizeCommand("make \n\n  test"), "make\ntest");
    assert.equal(normalizeCommand('echo "x \\"  y"   z'), 'echo "x \\"  y" z');
  });

  it("the regex matches exactly the spellings that normalize the same", () => {
    const re = new RegExp(commandRegex("npm test -- --grep 'a  b'"));
    for (const s of same) assert.ok(re.test(s), s);
    for (const d of different) assert.ok(!re.test(d), d);
    const special = "cat a.txt | grep -E '(x|y)+$' && echo [ok] {1,2} ?";
    assert.ok(new RegExp(commandRegex(special)).test(special));
    assert.ok(!new RegExp(commandRegex(special)).test(special.replace("a.txt", "abtxt")), "a dot is literal");
    new RegExp(commandRegex(special), "u"); // valid with the u flag too (a policy may set it)
  });
});
