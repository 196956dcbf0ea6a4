import yaml


def handler(event, context):
    return {"report": yaml.safe_dump(event)}
