import uuid
from optimal_confidence.__main__ import main
from optimal_confidence.demo import make_demo_dataset

def test_cmp(tmp_path, capsys):
    ds = make_demo_dataset(f"oc-zz-{uuid.uuid4().hex[:6]}", num_samples=20, seed=5, images_dir=str(tmp_path))
    try:
        code = main(["--dataset", ds.name, "--compare", "baseline", "--save-run", "k", "--json"])
        out, err = capsys.readouterr()
        print(code, err[-500:], out[:300])
        code = main(["--dataset", ds.name, "--compare", "baseline", "--json"])
        out, err = capsys.readouterr()
        print(code, err[-500:], out[:600])
    finally:
        ds.delete()
