"""Fill kiosk/translations/zh_CN from a msgid -> msgstr table (a maintainer's tool).

Usage: python scripts/fill_zh.py TABLE.py   (TABLE.py defines ZH = {msgid: msgstr})
Prints the msgids still untranslated.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

PO = "kiosk/translations/zh_CN/LC_MESSAGES/messages.po"

table = runpy.run_path(sys.argv[1])["ZH"]
with open(PO, "rb") as f:
    catalog = read_po(f, locale="zh_CN")
for message in catalog:
    if message.id and message.id in table:
        message.string = table[message.id]
        message.flags.discard("fuzzy")
with open(PO, "wb") as f:
    write_po(f, catalog, width=100)
missing = [m.id for m in catalog if m.id and not m.string]
print("\n".join(map(str, missing)) or "zh_CN complete")
