#!/bin/sh
#SWM name hello
echo hello from $(hostname)
