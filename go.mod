module github.com/torchloss/torchloss

go 1.26
