// Interop oracle for tests/test_merkle.py: rebuilds our batches with the reference
// library (@openzeppelin/merkle-tree) and verifies our proofs with it.
//
// stdin:  {"cases": [{"encoding": ["bytes32", ...], "values": ["0x<abi.encode of the fields>", ...]}, ...],
//          "dumps": [<our dump()>, ...],
//          "claims": [{"encoding": [...], "root": "0x..", "value": "0x..", "proof": ["0x..", ...]}, ...]}
// A value is the concatenation of its bytes32 fields (what abi.encode gives), split here into them.
// stdout: {"trees": [{"root", "dump", "proofs"}, ...],   // library's own output per case
//          "loadedRoots": ["0x..", ...],                   // StandardMerkleTree.load(our dump).root
//          "verified": [true|false, ...]}                  // StandardMerkleTree.verify per claim
import merkleTree from '@openzeppelin/merkle-tree';

const { StandardMerkleTree } = merkleTree;
const fields = value => value.slice(2).match(/.{64}/g).map(word => `0x${word}`);

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const trees = input.cases.map(({ encoding, values }) => {
  const tree = StandardMerkleTree.of(values.map(fields), encoding);
  return { root: tree.root, dump: tree.dump(), proofs: values.map((_, i) => tree.getProof(i)) };
});
// load() validates every node hash and every value's leaf, so it rejects a wrong dump.
const loadedRoots = input.dumps.map(dump => StandardMerkleTree.load(dump).root);
const verified = input.claims.map(({ encoding, root, value, proof }) =>
  StandardMerkleTree.verify(root, encoding, fields(value), proof),
);
process.stdout.write(JSON.stringify({ trees, loadedRoots, verified }));
