module gcoffsets

go 1.19
