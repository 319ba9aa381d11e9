#!/usr/bin/env python3
"""Listeners: the README's example loads; placeholder until filled in."""
import sltest as t


def main():
    conf = t.readme_example("listeners")
    t.check(len(conf["listeners"]) == 4, "README example has 4 listeners")


if __name__ == "__main__":
    t.run(main)
