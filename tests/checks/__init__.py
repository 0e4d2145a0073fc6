"""Tests of fakevoipbin/checks/: the request checks, the exchange rules, the report"""
