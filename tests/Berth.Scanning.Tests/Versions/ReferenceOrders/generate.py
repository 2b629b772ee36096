"""Regenerates maven-order.txt and pep440-order.txt: random tricky version pairs with the order the reference
implementations give them (Python's `packaging` as vendored by pip; Maven's ComparableVersion from maven-artifact).
Run: python3 generate.py  (needs pip and `mvn`'s /usr/share/maven/lib/maven-artifact-3.x.jar + java)."""
import random, subprocess

random.seed(7)
pieces = ['1', '0', '2', '10', '01', '.', '.', '-', '-', 'alpha', 'a', 'beta', 'b', 'm', 'milestone', 'rc', 'cr',
          'snapshot', 'SNAPSHOT', 'ga', 'final', 'release', 'sp', 'abc', 'x', 'Final', 'RC']

def gen():
    s = random.choice(['1', '2', '0', '10'])
    for _ in range(random.randint(0, 6)):
        s += random.choice(pieces)
    return s

pairs = []
for _ in range(4000):
    a = gen()
    b = gen() if random.random() < 0.5 else a + random.choice(pieces) + random.choice(['', '1', '0'])
    pairs.append((a, b))
open('/tmp/maven-pairs.txt', 'w').write('\n'.join(a + ' ' + b for a, b in pairs) + '\n')
subprocess.run(['java', '-cp', '/usr/share/maven/lib/maven-artifact-3.x.jar', 'MavenOrder.java',
                '/tmp/maven-pairs.txt', 'maven-order.txt'], check=True)

pp = ['1', '0', '2', '10', '.', '.', 'a', 'b', 'rc', 'c', 'alpha', 'beta', 'pre', 'preview', 'post', 'rev', 'r', 'dev',
      '-', '_', '+local', '+1.2', '!', '.post', '.dev']

def genp():
    s = random.choice(['1', '2', '0', '1!1'])
    for _ in range(random.randint(0, 6)):
        s += random.choice(pp)
    return s

from pip._vendor.packaging.version import Version, InvalidVersion
out = []
while len(out) < 4000:
    a = genp()
    b = genp() if random.random() < 0.5 else a + random.choice(pp) + random.choice(['', '1', '0'])
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        continue
    out.append(f"{a} {b} {(va > vb) - (va < vb)}")
open('pep440-order.txt', 'w').write('\n'.join(out) + '\n')
