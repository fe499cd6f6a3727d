module mhc

go 1.19
