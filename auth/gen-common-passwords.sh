#!/bin/sh
# Regenerates auth/common-passwords.txt, the list password_check_policy() refuses (NIST SP 800-63B
# 5.1.1.2: "passwords obtained from previous breach corpuses", "dictionary words", "repetitive or
# sequential characters", "context-specific words"). Provenance and licence: auth/README.md.
#
# Usage: auth/gen-common-passwords.sh [/usr/share/john/password.lst] > auth/common-passwords.txt
# (the list is Debian's john-data package). Output: lower-case, 12 to 64 bytes of printable ASCII
# without spaces, one per line, sorted bytewise and unique, because password.c binary-searches
# the embedded text in place and the policy refuses anything under 12 characters anyway.
set -eu
lst=${1:-/usr/share/john/password.lst}
[ -r "$lst" ] || { echo "$0: cannot read $lst (apt-get install john-data)" >&2; exit 1; }

{
    # John the Ripper's list, most frequent first, minus its "#!comment" lines, becomes the base
    # words for the usual ways people stretch a short password to a length rule.
    grep -v '^#!comment' "$lst" | tr 'A-Z' 'a-z' | awk '
        length($0) >= 4 && $0 !~ /[^!-~]/ && !seen[$0]++ { w[++n] = $0 }
        END {
            split("1234 12345 123456 123456789 1234567890 123123 1234!", suf, " ")
            for (i = 1; i <= n; i++) {
                print w[i]                                    # already 12+ characters
                if (i <= 400)
                    for (s in suf) print w[i] suf[s]          # monkey123456
                if (i <= 300) print w[i] w[i]                 # letmeinletmein
            }
            # Year suffixes on the 40 most frequent words of 8+ characters: password2024.
            for (i = 1; i <= n && shown < 40; i++) {
                if (length(w[i]) < 8) continue
                shown++
                for (y = 2010; y <= 2027; y++) { print w[i] y; print w[i] y "!" }
            }
        }'

    # Words that are weak because of where they are used (the product, generic admin words),
    # seasons and months with years, and well-known long weak passwords.
    awk 'BEGIN {
        split("parapet security admin administrator welcome changeme password passw0rd " \
              "p@ssword p@ssw0rd letmein iloveyou trustno1 qwerty dragon monkey football " \
              "baseball sunshine princess master shadow superman batman starwars pokemon " \
              "summer winter spring autumn january february march april may june july " \
              "august september october november december monday friday sunday default " \
              "login secret temp guest user root test", w, " ")
        split("1234 12345 123456 1234567890 123 1 ! !! 2024! 01 007 @123 #1", suf, " ")
        for (i in w) {
            for (s in suf) print w[i] suf[s]
            for (y = 2000; y <= 2030; y++) { print w[i] y; print w[i] y "!" }
            print w[i] w[i]
        }
        n = split("correcthorsebatterystaple iloveyouforever letmeinplease " \
                  "pleaseletmein thisismypassword mypasswordis thisisapassword " \
                  "password1234567 passwordpassword1 changemenow changemeplease " \
                  "welcometoparapet opensesame123 administrator1 superadministrator " \
                  "whateverwhatever nopasswordneeded iamtheadmin1", x, " ")
        for (i = 1; i <= n; i++) print x[i]
    }'

    # Keyboard walks and sequences, and every prefix of them: qwertyuiopasdfghjkl, 1q2w3e4r5t6y.
    awk 'BEGIN {
        n = split("qwertyuiopasdfghjklzxcvbnm qwertyuiop1234567890 1234567890qwertyuiop " \
                  "asdfghjklqwertyuiop zxcvbnmasdfghjklqwertyuiop qazwsxedcrfvtgbyhnujmikolp " \
                  "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p zaq12wsxcde34rfvbgt56yhnmju78ik " \
                  "1q2w3e4r5t6y7u8i9o0p q1w2e3r4t5y6u7i8o9p0 1qazxsw23edcvfr45tgbnhy6 " \
                  "!qaz@wsx#edc$rfv%tgb !q@w#e$r%t^y&u*i(o)p 1qaz!qaz2wsx@wsx3edc#edc " \
                  "qweasdzxcqweasdzxcqwe qwerasdfzxcvqwerasdf 1234qwerasdfzxcv " \
                  "qwer1234asdf5678zxcv asdf1234qwer5678 azertyuiopqsdfghjklmwxcvbn " \
                  "qwertzuiopasdfghjklyxcvbnm abcdefghijklmnopqrstuvwxyz " \
                  "zyxwvutsrqponmlkjihgfedcba abc123def456ghi789 a1b2c3d4e5f6g7h8i9j0 " \
                  "12345678901234567890 01234567890123456789 98765432109876543210 " \
                  "09876543210987654321 11223344556677889900 12341234123412341234 " \
                  "123qweasdzxc123qweasdzxc poiuytrewqlkjhgfdsamnbvcxz " \
                  "mnbvcxzlkjhgfdsapoiuytrewq 0987654321poiuytrewq", walk, " ")
        for (i = 1; i <= n; i++)
            for (l = 12; l <= length(walk[i]); l++) print substr(walk[i], 1, l)
        # Short patterns repeated to 12-24 characters: 123123123123, abcabcabcabc.
        m = split("12 123 1234 12345 123456 abc abcd qwe qwer asd asdf zxc ab 69 007 lol " \
                  "haha hehe xo 1q2w 1qaz qaz 321 987 ab12 a1 a1b2 iloveu", pat, " ")
        for (i = 1; i <= m; i++) {
            s = pat[i]
            while (length(s) < 12) s = s pat[i]
            for (; length(s) <= 24; s = s pat[i]) print s
        }
    }'
} | awk 'length($0) >= 12 && length($0) <= 64 && $0 !~ /[^!-~]/' | tr 'A-Z' 'a-z' | LC_ALL=C sort -u
