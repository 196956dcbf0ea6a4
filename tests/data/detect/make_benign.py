#!/usr/bin/env python3
"""Writes tests/data/detect/benign/*.txt: realistic benign values that reach API parameters.

Hand-written building blocks (names, sentences, code snippets from support tickets, JSON bodies,
URLs, paths, user agents, prices, maths) combined by templates with a fixed seed, so that the
output is reproducible: `python3 tests/data/detect/make_benign.py` rewrites the files. The
generated files are committed; the unit test reads them, never this script.
One value per line; values with newlines or control bytes are written as "b64:" + base64.
"""
import base64
import json
import os
import random

R = random.Random(20261202)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benign")

FIRST = ["Sean", "Siobhan", "Liam", "Aoife", "Marco", "Giulia", "Chloe", "Noah", "Amara",
         "Yuki", "Kenji", "Fatima", "Omar", "Priya", "Arjun", "Zoe", "Mateo", "Lucia", "Olivia",
         "Ethan", "Hannah", "Jean-Luc", "Anne-Marie", "José", "Zoë", "Björn", "Søren", "Łukasz",
         "Renée", "François", "Dmitri", "Ngozi", "Kwame", "Mei", "Hiroshi", "Ana", "Joaquín",
         "Bartholomew", "Mary Kate", "D'Andre", "De'Shawn", "Ja'Marr", "Ke'Bryan", "Shaquille",
         "Robert", "Bobby", "Patrick", "Maureen", "Ciarán", "Róisín", "Eoghan", "Nuala"]
LAST = ["O'Brien", "O'Connor", "O'Neil", "O'Reilly", "D'Angelo", "D'Souza", "D'Arcy",
        "McDonald", "MacLeod", "Smith", "García", "Müller", "Nguyen", "Kowalski", "Rossi",
        "van der Berg", "de la Cruz", "St. John", "Fitz-Gerald", "Al-Sayed", "Ben-David",
        "O'Sullivan", "Dell'Orto", "L'Estrange", "Mc'Kenzie", "N'Diaye", "Da Silva", "Żółć",
        "Tables", "Union", "Select", "Drop", "Null", "Sleep", "Order", "Case", "Script"]
CITIES = ["Dublin", "Cork", "Galway", "L'Aquila", "Coeur d'Alene", "Val-d'Or", "Saint-Jean",
          "Land O' Lakes", "Martha's Vineyard", "Hell's Kitchen", "Kings Cross", "Zürich",
          "São Paulo", "Kraków", "Union City", "Selma", "Drop Bay", "Orderville"]
STREETS = ["Main St", "O'Connell Street", "Queen's Road", "St. Mary's Lane", "5th Avenue",
           "Rue de l'Église", "Via dell'Orso", "Baker Street", "Union Square", "Pine Rd"]

PROSE = [
    "Please select the best option, drop me a line, union members welcome.",
    "Select your size, then drop it in the cart.",
    "The union will meet on Friday; bring your card or your ID.",
    "I'd like to update my shipping address and delete the old one.",
    "Can you insert a note into the order? It's a gift for my mum.",
    "Where do I find the order history? I can't see it anywhere.",
    "We sleep better since we bought the mattress -- five stars.",
    "It's 5 or 6 o'clock, don't be late -- and bring snacks!",
    "Rock 'n' roll or jazz? Either is fine by me.",
    "Tom & Jerry is my kid's favourite; we watch it every day.",
    "Q&A session at 3pm; coffee & cake provided.",
    "The table was wobbly and one leg was shorter than the others.",
    "Please drop the package at the back door, not the front.",
    "Order by Friday to get free delivery; after that it's $4.99.",
    "Group by group, the students walked into the hall.",
    "Having said that, the product works as described.",
    "Union Pacific delays again, sorry for the late reply.",
    "I said 'yes' or 'no' but the form keeps asking again.",
    "My name is O'Hara and your form says my name is invalid!",
    "Why does 1 + 1 = 2? Asking for my daughter's homework.",
    "Is 3 < 5 and 7 > 4? Yes, both are true.",
    "The ratio was 2:1 and the score 3-1 at half time.",
    "He said \"it's fine\" -- then the screen went black.",
    "She called it \"perfect\"--then changed her mind.",
    "Meeting moved to 10:30; room B; agenda attached.",
    "Line 1; line 2; line 3 -- all done.",
    "I'm not sure whether to choose plan A or plan B.",
    "Hello! I'd like a refund for order #4411, the mug arrived broken :(",
    "Thanks so much!! You guys are the best <3",
    "Can I pay with PayPal or a credit card?",
    "The sleep mode on my laptop doesn't work after the update.",
    "What's the difference between 'select' and 'premium' plans?",
    "Where can I execute the contract? Is DocuSign OK?",
    "Exec summary: revenue up 4%, costs down 2%.",
    "Please set my password reminder; I keep forgetting it.",
    "I dropped my phone and the screen cracked -- is that covered?",
    "We're having a union meeting, please select a date that works.",
    "Declare your items at customs; duties may apply.",
    "Grant me access to the shared folder, please.",
    "The create button is greyed out; how do I create a new project?",
    "Alter the hem by 2 cm, if possible.",
    "Truncate the text after 100 characters in the preview, please.",
    "Shutdown took forever yesterday, any idea why?",
    "Waitfor it... the sale starts Monday!",
    "1 or 2 tickets, not sure yet.",
    "Between 9 and 5, Monday to Friday.",
    "Like it or not, the price went up.",
    "Null and void, says the lawyer.",
    "It's either 'on' or 'off', nothing in between.",
    "Cats > dogs, fight me.",
    "Use <Ctrl> + <C> to copy and <Ctrl> + <V> to paste.",
    "Temperature range: -5 to 30 degrees.",
    "My username is john_doe-1990, not john.doe.",
    "I can't log in; it says 'invalid credentials' even after the reset.",
    "Where's my order?! It's been 3 weeks...",
    "Please cancel order 12345; I ordered by mistake.",
    "Could you sleep on it and let me know tomorrow?",
    "Our team's motto: work hard; play hard.",
    "Love the colour, hate the zip -- 3/5.",
    "Size chart says M = 38-40; I'm 39, which one?",
    "Is there a student discount? I'm at Trinity College.",
    "How do I select multiple files in the upload dialog?",
    "The drop-down menu is hidden behind the footer on mobile.",
    "Delete my account and all data per GDPR art. 17, please.",
    "Can you update the invoice to show my company's VAT number?",
    "First, select 'Settings'; then choose 'Privacy'; finally 'Export data'.",
    "The union of sets A and B contains every element of either set.",
    "In SQL class today we learned about select statements, fun!",
    "I work as a database admin; is the course too basic for me?",
    "My son's school uses a script to grade homework, crazy.",
    "The script of the play was great, the acting less so.",
    "Concert tickets: row F, seats 12 & 13.",
    "You can reach me at +353 1 234 5678 or +1 (555) 010-9999.",
    "Is it 'its' or 'it's' in this sentence?",
    "Ain't nobody got time for that.",
    "y'all're gonna love this one",
    "'Twas the night before Christmas...",
    "Don't forget: 'measure twice, cut once'.",
    "Best price/quality ratio I've found -- highly recommend.",
    "He's 6'2\" and she's 5'6\".",
    "The board is 2' x 4' and weighs 10 lbs.",
    "Chapter 3: 'The Return' -- pages 45-60.",
    "Re: Re: Fwd: invoice #77 (urgent!!)",
    "PS: the blue one, not the green one ;)",
    "Oops; typo in my last message, sorry!",
    "Pls call me back asap -- 087 123 4567",
]

TICKET_CODE = [
    "const x = a > b ? a : b;",
    "if (a < b && c > d) { return a; }",
    "for (let i = 0; i < items.length; i++) { total += items[i].price; }",
    "import { Button } from '../components/Button';",
    "import utils from '../../lib/utils';",
    "const config = require('./config.json');",
    "from django.db import models",
    "def add(a, b):\n    return a + b",
    "print(f\"Hello {name}, you have {count} messages\")",
    "SELECT name, email FROM customers WHERE id = 42",
    "await fetch('/api/orders?page=2&limit=50')",
    "curl -X POST https://api.example.com/v1/orders -H 'Content-Type: application/json'",
    "npm install --save lodash",
    "pip install requests==2.31.0",
    "git commit -m 'fix: handle empty cart'",
    "docker run -p 8080:80 nginx:1.25",
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "Error: ENOENT: no such file or directory, open 'config.yml'",
    "Traceback (most recent call last):\n  File \"app.py\", line 10, in <module>",
    "java.lang.NullPointerException at com.example.Cart.total(Cart.java:42)",
    "Uncaught SyntaxError: Unexpected token '<' in JSON at position 0",
    "404 Not Found: GET /api/v2/users/123/preferences",
    "HTTP 502 Bad Gateway from CloudFront",
    "x = [i * 2 for i in range(10) if i % 2 == 0]",
    "let total = prices.reduce((sum, p) => sum + p, 0);",
    "<div class=\"row\"><span>Total</span></div>",
    "<b>bold</b> and <i>italic</i> work, but <u> does not",
    "a <= b and b >= c",
    "Map<String, List<Integer>> index = new HashMap<>();",
    "std::vector<int> v{1, 2, 3};",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "SELECT COUNT(*) FROM orders GROUP BY status",
    "UPDATE: the issue was on our side, sorry!",
    "ls -la shows the file but the app can't open it",
    "Run `npm test` and paste the output here.",
    "Try `git pull --rebase` then push again.",
    "The cron job `0 3 * * *` runs at 3am UTC.",
    "Path: C:\\Users\\Anna\\Documents\\Invoices\\2024",
    "Stack: node 18, express 4.18, postgres 15",
    "regex /^[a-z0-9_-]{3,16}$/ rejects my username",
    "printf(\"%d items\\n\", n);",
    "echo \"hello\" works in my terminal but not in the app",
    "The template shows {{ user.name }} literally instead of my name.",
    "Hello {{name}}, your order {{order.id}} shipped.",
    "Dear ${firstName}, thanks for your order",
    "Use %s placeholders: 'Hello %s' % name",
    "jq '.items[] | .id' orders.json",
    "grep -r 'TODO' src/ | wc -l",
    "awk '{print $2}' file.txt",
    "cat README.md",
    "The tests pass locally: 42 passed, 0 failed.",
    "value = obj?.nested?.field ?? 'default'",
    "if x != None and len(x) > 0:",
    "while (retries-- > 0) { await sleep(1000); }",
    "time.sleep(5) fixed the race condition for now",
    "SetTimeout is 30 seconds in the Lambda config",
    "AWS_REGION=eu-west-1 and the bucket is in us-east-1",
    "Function URL returns 403 when AuthType is AWS_IAM",
    "The event has queryStringParameters null when there is no query",
    "CloudWatch shows REPORT RequestId: 8f5e Duration: 102.3 ms",
    "#include <stdio.h>",
    "<?php echo 'hi'; ?> is what my host shows",
    "user@host:~$ python3 manage.py migrate",
    "# Heading\n\n- item one\n- item two",
    "| id | name | price |\n|----|------|-------|\n| 1 | Mug | 9.99 |",
    "| id | status |",
    "> quoted reply from support",
    "**bold** and _italic_ in markdown",
    "[link](https://docs.example.com/guide#setup)",
    "![screenshot](https://cdn.example.com/img/shot-01.png)",
    "1. Open the app\n2. Tap Settings\n3. Select 'Account'",
]

JSON_BODIES = [
    {"name": "Siobhan O'Connor", "email": "siobhan@example.ie", "newsletter": True},
    {"items": [{"sku": "MUG-01", "qty": 2}, {"sku": "TEA-12", "qty": 1}], "coupon": "SPRING10"},
    {"query": "select the best option", "page": 1},
    {"comment": "Love it -- five stars; would buy again!", "rating": 5},
    {"address": {"line1": "12 O'Connell Street", "city": "Dublin", "zip": "D01 F5P2"}},
    {"message": "Drop me a line when the union meeting is scheduled."},
    {"filter": {"status": "shipped", "from": "2024-01-01", "to": "2024-01-31"}},
    {"sort": "created_at", "order": "desc", "limit": 50},
    {"user": {"first": "Liam", "last": "D'Angelo", "age": 34}},
    {"title": "Re: order #123", "body": "Hi, it's me again; any news?"},
    {"price": 19.99, "currency": "EUR", "vat": 0.23},
    {"tags": ["summer", "sale", "drop-ship"], "visible": False},
    {"note": "Use <Ctrl>+<S> to save"},
    {"formula": "a < b && b < c"},
    {"url": "https://shop.example.com/products/42?ref=newsletter"},
    {"callback": "https://hooks.example.org/parapet/abc123"},
    {"path": "/home/user/docs/report.pdf"},
    {"file": "invoices/2024/03/INV-0042.pdf"},
    {"search": "O'Reilly books"},
    {"lat": 53.3498, "lng": -6.2603, "accuracy": 12},
    {"answers": {"q1": "yes", "q2": "no", "q3": "I'm not sure"}},
    {"template": "Hello {{name}}"},
    {"markdown": "# Title\n\nSome *text* -- with a dash."},
    {"phone": "+353 87 123 4567", "country": "IE"},
    {"password_hint": "my dog's name"},
    {"event": "page_view", "ts": 1709251200, "props": {"path": "/pricing"}},
]

DOMAINS = ["example.com", "shop.example.com", "docs.example.org", "cdn.example.net",
           "github.com", "www.google.com", "en.wikipedia.org", "api.stripe.com",
           "s3.eu-west-1.amazonaws.com", "lambda.us-east-1.amazonaws.com",
           "hooks.slack.com", "login.microsoftonline.com", "news.ycombinator.com"]
URL_PATHS = ["/", "/products/42", "/search?q=select+union", "/blog/2024/03/why-we-moved",
             "/wiki/Union_(set_theory)", "/orders?page=2&sort=-date", "/img/logo@2x.png",
             "/api/v1/items/7f9c1e2a", "/docs/getting-started#install", "/u/o-brien",
             "/pricing?plan=pro&period=annual", "/callback?code=4/0Ab&state=xyz",
             "/search?q=o%27brien", "/a/b/c/d/e/f.html", "/static/js/app.3f2a1b.js",
             "/watch?v=dQw4w9WgXcQ", "/maps/place/Dublin/@53.34,-6.26,12z",
             "/products?category=tables&sort=price_asc"]

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "curl/8.4.0", "python-requests/2.31.0", "PostmanRuntime/7.36.0", "okhttp/4.12.0",
    "aws-sdk-js/3.470.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#18.18.2",
    "Go-http-client/2.0", "Amazon CloudFront", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Googlebot/2.1 (+http://www.google.com/bot.html)", "axios/1.6.2", "node-fetch/1.0",
]


def w(name, values):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write("# Generated by ../make_benign.py (seeded); benign values, one per line.\n")
        for v in values:
            if any(c in v for c in "\n\r\t\x00") or v.startswith("#") or v.startswith("b64:"):
                f.write("b64:" + base64.b64encode(v.encode("utf-8")).decode() + "\n")
            else:
                f.write(v + "\n")


def names():
    out = set()
    while len(out) < 320:
        f, l = R.choice(FIRST), R.choice(LAST)
        form = R.randrange(6)
        if form == 0:
            out.add(f"{f} {l}")
        elif form == 1:
            out.add(l)
        elif form == 2:
            out.add(f"{l}, {f}")
        elif form == 3:
            out.add(f"{f} {l}, {R.randrange(1, 300)} {R.choice(STREETS)}, {R.choice(CITIES)}")
        elif form == 4:
            out.add(f"{f.lower()}.{l.lower().replace(' ', '').replace(chr(39), '')}@example.com")
        else:
            out.add(f"Dear {f} {l},")
    return sorted(out)


def prose():
    out = list(PROSE)
    openers = ["Hi,", "Hello team,", "Good morning!", "Hey there -", "To whom it may concern:",
               "Quick question:", "Update:", "FYI;"]
    closers = ["Thanks!", "Cheers, {f}", "Regards, {f} {l}", "-- {f}", "Kind regards;",
               "Sent from my iPhone", "Best, {f} ({l}'s assistant)"]
    while len(out) < 480:
        s = " ".join([R.choice(openers), R.choice(PROSE), R.choice(PROSE),
                      R.choice(closers).format(f=R.choice(FIRST), l=R.choice(LAST))])
        out.append(s)
    return out


def tickets():
    out = list(TICKET_CODE)
    intro = ["My code fails with this:", "When I run", "Steps to reproduce:", "Here is the snippet:",
             "Log output:", "The docs say to use", "I tried"]
    while len(out) < 260:
        out.append(f"{R.choice(intro)} {R.choice(TICKET_CODE)} -- {R.choice(PROSE)}")
    return out


def jsons():
    out = []
    for b in JSON_BODIES:
        out.append(json.dumps(b))
    while len(out) < 220:
        b = dict(R.choice(JSON_BODIES))
        b["id"] = R.randrange(1, 10 ** 6)
        b["customer"] = f"{R.choice(FIRST)} {R.choice(LAST)}"
        if R.random() < 0.3:
            b["note"] = R.choice(PROSE)
        out.append(json.dumps(b, ensure_ascii=R.random() < 0.5))
    return out


def urls_paths():
    out = []
    for d in DOMAINS:
        for p in R.sample(URL_PATHS, 8):
            out.append(f"https://{d}{p}")
    out += [f"http://{d}/" for d in DOMAINS]
    out += [f"{R.choice(FIRST).lower()}.{R.randrange(100)}@{R.choice(DOMAINS)}" for _ in range(40)]
    paths = ["/home/user/docs", "/home/user/docs/report.pdf", "/Users/anna/Downloads/cv.docx",
             "C:\\Users\\Anna\\Documents\\cv.docx", "D:\\Photos\\2023\\IMG_0042.JPG",
             "./src/index.js", "../README.md", "../assets/logo.svg", "src/lib/../lib/util.ts",
             "/var/www/images/avatar.png", "/tmp/upload-8f3a.csv", "~/projects/app/.gitignore",
             "/usr/share/doc/README", "/api/v1/users/me", "/products/42/reviews",
             "s3://my-bucket/exports/2024/03/data.parquet", "invoices/2024/INV-0042.pdf",
             "photos/summer 2023/beach.jpg", "/docs/v2/../v3/index.html"]
    out += paths
    while len(out) < 330:
        out.append("/" + "/".join(R.choice(["api", "v1", "orders", "items", "users", "files",
                                           "2024", "03", "reports", "me", "settings"])
                                 for _ in range(R.randrange(1, 6))))
    return out


def headers():
    out = list(UAS)
    while len(out) < 200:
        kind = R.randrange(4)
        if kind == 0:
            out.append(R.choice(UAS))
        elif kind == 1:
            out.append(f"https://{R.choice(DOMAINS)}{R.choice(URL_PATHS)}")
        elif kind == 2:
            out.append(f"session={R.getrandbits(64):016x}; theme=dark; lang=en-IE")
        else:
            out.append(f"{R.randrange(1, 255)}.{R.randrange(255)}.{R.randrange(255)}.{R.randrange(1, 255)}, 130.176.{R.randrange(255)}.{R.randrange(255)}")
    return out


def misc():
    out = []
    for _ in range(80):
        out.append(R.choice(["€", "$", "£", ""]) + f"{R.randrange(0, 5000)}.{R.randrange(100):02d}")
    for _ in range(40):
        a, b = R.randrange(100), R.randrange(100)
        out.append(R.choice([f"{a} < {b}", f"{a} > {b} and {b} < {a + b}", f"x < {a}; y > {b}",
                             f"if {a} <= x <= {b}", f"{a}/{b} = {a / max(b, 1):.2f}",
                             f"{a} - {b} -- approx", f"({a} + {b}) * 2 = {2 * (a + b)}"]))
    for _ in range(40):
        out.append(f"{R.randrange(2000, 2030)}-{R.randrange(1, 13):02d}-{R.randrange(1, 29):02d}"
                   + R.choice(["", f"T{R.randrange(24):02d}:{R.randrange(60):02d}:00Z"]))
    for _ in range(40):
        out.append("%08x-%04x-4%03x-a%03x-%012x" % (R.getrandbits(32), R.getrandbits(16),
                                                     R.getrandbits(12), R.getrandbits(12),
                                                     R.getrandbits(48)))
    for _ in range(30):
        out.append(str(R.randrange(10 ** 5, 10 ** 11)))
    # base64 images and documents (binary when decoded)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(R.getrandbits(8) for _ in range(60))).decode()
    out.append("data:image/png;base64," + png)
    for _ in range(30):
        blob = bytes(R.getrandbits(8) for _ in range(R.randrange(30, 200)))
        out.append(base64.b64encode(blob).decode())
    # base64 of benign text (decoded and inspected)
    for _ in range(30):
        t = R.choice(PROSE + [json.dumps(b) for b in JSON_BODIES])
        out.append(base64.b64encode(t.encode()).decode())
    # tokens and ids that look random
    for _ in range(20):
        out.append("".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(R.randrange(16, 48))))
    out += ["N/A", "n/a", "-", "--", "...", "?", "!", "&", "|", ";", "'", "\"", "''", "\"\"",
            "0", "-1", "1.5e3", "true", "false", "null", "NULL", "None", "undefined", "[]", "{}",
            "O'", "'s", "I'm", "'quoted'", "\"double\"", "a;b;c", "a|b|c", "a&b&c", "1;2;3",
            "key=value", "a=1&b=2", "100%", "50% off!", "#hashtag", "@mention", "C#", "F#",
            "rock&roll", "AT&T", "H&M", "M&M's", "Ben & Jerry's", "Procter & Gamble",
            "5'11\"", "12\" pizza", "--force", "-rf", "~", "~/", "../", "./", "/", "\\",
            ":)", ";)", ":-P", "<3", "</3", "=>", "->", "<-", "<=", ">=", "!=", "==", "===",
            "1 + 1", "2 * 3", "10 / 2", "x^2", "e=mc^2", "a < b > c", "<> not equal",
            "tel:+353123456", "mailto:help@example.com", "sms:+15550100", "geo:53.34,-6.26",
            "SELECT", "UNION", "DROP", "union", "select", "or", "and", "sleep", "script",
            "javascript", "alert", "onload", "cat", "ls", "id", "env", "passwd", "etc",
            "Order by: price", "Group by: category", "Sort: A-Z", "Filter: union made",
            "ISBN 978-0-596-51774-8", "JavaScript: The Good Parts (2008)",
            "Node.js: Up and Running", "C++ Primer, 5th ed.", "R&D dept.", "P&L Q3",
            "100 Main St; Apt 4", "Unit 5 | Block B", "c/o Mary O'Neil", "Attn: D'Souza & Co."]
    return out


def main():
    w("names.txt", names())
    w("prose.txt", prose())
    w("tickets.txt", tickets())
    w("json.txt", jsons())
    w("urls.txt", urls_paths())
    w("headers.txt", headers())
    w("misc.txt", misc())


if __name__ == "__main__":
    main()
