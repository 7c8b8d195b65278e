// A third party's check of a proof bundle's `submission` with @openzeppelin/merkle-tree alone
// (tests/test_signatures.py; the signature is checked there with eth_account alone).
//
// stdin:  {"bundle": <proof bundle>, "hashes": ["0x..", ...]}   // hashes: the signed submission's content hashes, in order
// stdout: {"included": bool,            // StandardMerkleTree.verify(message.root, ["bytes32"], [content_hash], proof)
//          "rebuiltRoot": "0x.."}       // StandardMerkleTree.of(hashes, ["bytes32"], {sortLeaves: false}).root
import merkleTree from '@openzeppelin/merkle-tree';

const { StandardMerkleTree } = merkleTree;
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { bundle, hashes } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const { typed_data: typedData, proof } = bundle.submission;
const included = StandardMerkleTree.verify(typedData.message.root, ['bytes32'], [bundle.content_hash], proof);
const rebuiltRoot = StandardMerkleTree.of(hashes.map(hash => [hash]), ['bytes32'], { sortLeaves: false }).root;
process.stdout.write(JSON.stringify({ included, rebuiltRoot }));
