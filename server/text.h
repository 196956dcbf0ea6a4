/* text - tiny pure helpers over bytes of text, shared by every module (header-only, no state). */
#ifndef PARAPET_TEXT_H
#define PARAPET_TEXT_H

/* The value of a hexadecimal digit (either case), or -1. */
static inline int text_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
